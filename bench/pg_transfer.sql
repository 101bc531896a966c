-- The statements of one quote (POST /quotes) and its execution (POST /transactions), as two transactions, in the
-- server's order: the execution takes its hold (the account row lock) last.
\set s random(1, :wallets)
\set d random(1, :wallets)
BEGIN;
SELECT tenant_id, mode, revoked_at FROM api_keys WHERE id = :key;
SELECT set_config('bench.q', gen_random_uuid()::text, false);  -- session-wide: the execution needs it
SELECT pg_try_advisory_xact_lock(hashtext(current_setting('bench.q')));
SELECT response_status FROM idempotency_keys WHERE tenant_id = :tenant AND key = current_setting('bench.q');
SELECT c.id, c.status, e.name FROM customers c LEFT JOIN endorsements e ON e.customer_id = c.id AND e.status = 'active'
 WHERE c.id = (SELECT customer_id FROM bench_wallets WHERE n = :s);
SELECT id, asset, chain, address, customer_id FROM wallets WHERE id = (SELECT id FROM bench_wallets WHERE n = :s);
SELECT id, asset, chain, address FROM wallets WHERE id = (SELECT id FROM bench_wallets WHERE n = :d);
SELECT offset_ms FROM tenant_clocks WHERE tenant_id = :tenant;
INSERT INTO quotes (id, tenant_id, customer_id, type, status, asset, chain, source_wallet_id, destination_wallet_id,
  destination_address, fixed_side, source_gross, fee, destination_net, metadata, created_at, expires_at)
 SELECT current_setting('bench.q'), :tenant, customer_id, 'cryptoToCrypto', 'open', 'usdc', 'polygon', id,
  (SELECT id FROM bench_wallets WHERE n = :d), '0x0', 'source', 10000, 0, 10000, '{}', now(), now() + interval '5 min'
 FROM bench_wallets WHERE n = :s;
INSERT INTO idempotency_keys (tenant_id, key, fingerprint, response_status, response_body, created_at, expires_at)
 VALUES (:tenant, current_setting('bench.q'), 'f', 201, '\x7b7d', now(), now() + interval '1 day');
COMMIT;
BEGIN;
SELECT tenant_id, mode, revoked_at FROM api_keys WHERE id = :key;
SELECT set_config('bench.t', gen_random_uuid()::text, true);
SELECT pg_try_advisory_xact_lock(hashtext(current_setting('bench.t')));
SELECT response_status FROM idempotency_keys WHERE tenant_id = :tenant AND key = current_setting('bench.t');
SELECT * FROM quotes WHERE id = (SELECT max(id) FROM quotes WHERE id = current_setting('bench.q')) FOR UPDATE;
SELECT offset_ms FROM tenant_clocks WHERE tenant_id = :tenant;
SELECT c.id, c.status, e.name FROM customers c LEFT JOIN endorsements e ON e.customer_id = c.id AND e.status = 'active'
 WHERE c.id = (SELECT customer_id FROM bench_wallets WHERE n = :s);
SELECT id, key_index, address FROM wallets WHERE id IN (SELECT id FROM bench_wallets WHERE n IN (:s, :d));
SELECT kind, id FROM ledger_accounts WHERE wallet_id = (SELECT id FROM bench_wallets WHERE n = :s);
UPDATE quotes SET status = 'accepted', accepted_at = now() WHERE id = current_setting('bench.q');
INSERT INTO transactions (id, tenant_id, type, status, quote_id, sender_customer_id, source_wallet_id, asset, chain,
  fixed_side, source_gross, fee, destination_net, request, metadata, version, created_at, updated_at)
 SELECT current_setting('bench.t'), :tenant, 'cryptoToCrypto', 'processing', current_setting('bench.q'), customer_id,
  id, 'usdc', 'polygon', 'source', 10000, 0, 10000, '{}', '{}', 1, now(), now() FROM bench_wallets WHERE n = :s;
INSERT INTO chain_sends (id, tenant_id, purpose, reference, chain, asset, from_address, from_key_index, to_address,
  amount, status, settled, next_check_at, created_at, updated_at)
 VALUES (gen_random_uuid()::text, :tenant, 'transfer', current_setting('bench.t'), 'polygon', 'usdc', '0x0', 0, '0x0',
  10000, 'queued', false, now(), now(), now());
UPDATE ledger_accounts SET balance = balance - 10000 WHERE wallet_id = (SELECT id FROM bench_wallets WHERE n = :s)
 AND kind = 'available' AND balance >= 10000;
UPDATE ledger_accounts SET balance = balance + 10000 WHERE wallet_id = (SELECT id FROM bench_wallets WHERE n = :s)
 AND kind = 'held';
INSERT INTO ledger_entries (tenant_id, kind, reference, created_at)
 VALUES (:tenant, 'transfer.hold', current_setting('bench.t'), now());
INSERT INTO ledger_postings (entry_id, account_id, currency, amount)
 SELECT currval(pg_get_serial_sequence('ledger_entries', 'id')), a.id, a.currency,
  CASE a.kind WHEN 'available' THEN -10000 ELSE 10000 END
 FROM ledger_accounts a WHERE a.wallet_id = (SELECT id FROM bench_wallets WHERE n = :s) AND a.kind IN ('available', 'held');
INSERT INTO idempotency_keys (tenant_id, key, fingerprint, response_status, response_body, created_at, expires_at)
 VALUES (:tenant, current_setting('bench.t'), 'f', 201, '\x7b7d', now(), now() + interval '1 day');
INSERT INTO events (id, tenant_id, type, object_id, sequence, data, created_at)
 VALUES (gen_random_uuid()::text, :tenant, 'transaction.cryptoToCrypto.processing', current_setting('bench.t'), 1, '{}', now());
COMMIT;
