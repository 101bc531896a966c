-- The statements of one quote (POST /quotes) and its execution (POST /transactions) as the server runs them on
-- PostgreSQL (oms/hotwrites.py; SQL in oms/quote/repository.py and oms/transaction/repository.py): per request one
-- read, then one write. Payloads are the size of the server's (events, stored answers). Here each write is its own
-- transaction, as the server's are when it is idle; under load the server sends the writes of concurrent requests
-- together, several in one round trip and one transaction (group commit), which this ceiling does not do.
-- The first statement is the benchmark's own bookkeeping (this pair's ids), one cheap extra round trip.
\set s random(1, :wallets)
\set d random(1, :wallets)
SELECT set_config('bench.q', 'qt_' || gen_random_uuid()::text, false), set_config('bench.t', 'txn_' || gen_random_uuid()::text, false),
       set_config('bench.source', (SELECT id FROM bench_wallets WHERE n = :s), false),
       set_config('bench.customer', (SELECT customer_id FROM bench_wallets WHERE n = :s), false),
       set_config('bench.destination', (SELECT id FROM bench_wallets WHERE n = :d), false),
       set_config('bench.available', (SELECT a.id::text FROM ledger_accounts a JOIN bench_wallets w ON a.wallet_id = w.id
                                       WHERE w.n = :s AND a.kind = 'available'), false),
       set_config('bench.held', (SELECT a.id::text FROM ledger_accounts a JOIN bench_wallets w ON a.wallet_id = w.id
                                  WHERE w.n = :s AND a.kind = 'held'), false);
SELECT EXISTS (SELECT 1 FROM idempotency_keys r WHERE r.tenant_id = k.tenant_id AND r.key = current_setting('bench.q')) AS replay,
       (SELECT offset_ms FROM tenant_clocks t WHERE t.tenant_id = k.tenant_id) AS offset_ms,
       c.status AS customer_status,
       ARRAY(SELECT e.name FROM endorsements e WHERE e.customer_id = c.id AND e.status = 'active') AS endorsements,
       s.id, s.customer_id, s.asset, s.chain, s.address, s.key_index, s.status,
       d.id, d.customer_id, d.asset, d.chain, d.address, d.key_index, d.status
  FROM api_keys k
  JOIN customers c ON c.id = current_setting('bench.customer') AND c.tenant_id = k.tenant_id
  JOIN wallets s ON s.id = current_setting('bench.source') AND s.tenant_id = k.tenant_id
  LEFT JOIN wallets d ON d.id = current_setting('bench.destination') AND d.tenant_id = k.tenant_id
 WHERE k.id = :key AND k.tenant_id = :tenant AND k.mode = 'sandbox' AND k.revoked_at IS NULL;
WITH claimed AS (INSERT INTO idempotency_keys (tenant_id, key, fingerprint, response_status, response_body, created_at,
  expires_at)
 SELECT :tenant, current_setting('bench.q'), repeat('f', 64), 201, convert_to(repeat('q', 900), 'UTF8'), now(),
  now() + interval '1 day' FROM (SELECT 1) AS one ON CONFLICT DO NOTHING RETURNING 1),
 created AS (INSERT INTO quotes (id, tenant_id, customer_id, type, status, asset, chain, source_wallet_id,
  destination_wallet_id, destination_address, fixed_side, source_gross, fee, destination_net, metadata, created_at, expires_at,
  accepted_at)
 SELECT current_setting('bench.q'), :tenant, current_setting('bench.customer'), 'cryptoToCrypto', 'open', 'usdc', 'polygon',
  current_setting('bench.source'), current_setting('bench.destination'), '0x0000000000000000000000000000000000000000', 'source',
  10000, 0, 10000, '{}'::jsonb, now(), now() + interval '5 min', NULL FROM claimed RETURNING 1)
SELECT count(*) AS written FROM created;
SELECT EXISTS (SELECT 1 FROM idempotency_keys r WHERE r.tenant_id = k.tenant_id AND r.key = current_setting('bench.t')) AS replay,
       (SELECT offset_ms FROM tenant_clocks t WHERE t.tenant_id = k.tenant_id) AS offset_ms,
       q.*,
       c.status AS customer_status,
       ARRAY(SELECT e.name FROM endorsements e WHERE e.customer_id = c.id AND e.status = 'active') AS endorsements,
       s.address AS source_address, s.key_index AS source_key_index,
       d.customer_id AS recipient_customer_id,
       a.id AS available_id, a.balance AS available, h.id AS held_id
  FROM api_keys k
  JOIN quotes q ON q.id = current_setting('bench.q') AND q.tenant_id = k.tenant_id
  JOIN customers c ON c.id = q.customer_id
  JOIN wallets s ON s.id = q.source_wallet_id
  LEFT JOIN wallets d ON d.id = q.destination_wallet_id
  JOIN ledger_accounts a ON a.wallet_id = s.id AND a.kind = 'available'
  JOIN ledger_accounts h ON h.wallet_id = s.id AND h.kind = 'held'
 WHERE k.id = :key AND k.tenant_id = :tenant AND k.mode = 'sandbox' AND k.revoked_at IS NULL;
WITH open_quote AS MATERIALIZED (SELECT id FROM quotes WHERE id = current_setting('bench.q') AND status = 'open'
  AND expires_at > now() FOR NO KEY UPDATE SKIP LOCKED),
 funded AS MATERIALIZED (SELECT a.id FROM open_quote, ledger_accounts a
  JOIN unnest(ARRAY[current_setting('bench.available')::bigint, current_setting('bench.held')::bigint],
   ARRAY[-10000::bigint, 10000::bigint]) AS leg (account_id, amount) ON leg.account_id = a.id
  WHERE leg.amount >= 0 OR a.balance + leg.amount >= 0 ORDER BY a.id FOR UPDATE OF a),
 claimed AS (INSERT INTO idempotency_keys (tenant_id, key, fingerprint, response_status, response_body, created_at,
  expires_at)
 SELECT :tenant, current_setting('bench.t'), repeat('f', 64), 201, convert_to(repeat('t', 1100), 'UTF8'), now(),
  now() + interval '1 day' FROM (SELECT 1) AS one WHERE (SELECT count(*) FROM funded) = 2 ON CONFLICT DO NOTHING RETURNING 1),
 accepted AS (UPDATE quotes SET status = 'accepted', accepted_at = now()
  WHERE id = current_setting('bench.q') AND EXISTS (SELECT 1 FROM claimed)),
 created AS (INSERT INTO transactions (id, tenant_id, type, status, sub_status, quote_id, sender_customer_id,
  recipient_customer_id, source_wallet_id, destination_wallet_id, destination_address, asset, chain, fixed_side, source_gross,
  fee, destination_net, tx_hash, error, request, metadata, version, created_at, updated_at, completed_at)
 SELECT current_setting('bench.t'), :tenant, 'cryptoToCrypto', 'processing', 'fundsHeld', current_setting('bench.q'),
  current_setting('bench.customer'), (SELECT customer_id FROM bench_wallets WHERE n = :d), current_setting('bench.source'),
  current_setting('bench.destination'), '0x0000000000000000000000000000000000000000', 'usdc', 'polygon', 'source', 10000, 0,
  10000, NULL, NULL, '{}'::jsonb, '{}'::jsonb, 1, now(), now(), NULL FROM claimed RETURNING id),
 queued AS (INSERT INTO chain_sends (id, tenant_id, purpose, reference, chain, asset, from_address, from_key_index, to_address,
  to_wallet_id, amount, status, fee_payer, nonce, tx_hash, block_number, settled, last_error, next_check_at, broadcast_at,
  created_at, updated_at)
 SELECT 'send_' || gen_random_uuid()::text, :tenant, 'transfer', current_setting('bench.t'), 'polygon', 'usdc',
  '0x0000000000000000000000000000000000000000', 0, '0x0000000000000000000000000000000000000000',
  current_setting('bench.destination'), 10000, 'queued', NULL, NULL, NULL, NULL, false, NULL, now(), NULL, now(), now()
  FROM claimed),
 emitted AS (INSERT INTO events (id, tenant_id, type, object_id, sequence, data, created_at, dispatched_at)
 SELECT 'evt_' || gen_random_uuid()::text, :tenant, 'transaction.cryptoToCrypto.processing', current_setting('bench.t'), 1,
  jsonb_build_object('padding', repeat('e', 1200)), now(), NULL FROM claimed),
 hold AS (SELECT oms_post_entry(:tenant, 'transfer.hold', current_setting('bench.t'), now(),
  ARRAY[current_setting('bench.available')::bigint, current_setting('bench.held')::bigint], ARRAY['usdc' || chr(58) || 'polygon', 'usdc' || chr(58) || 'polygon'],
  ARRAY[-10000::bigint, 10000::bigint]) AS entry FROM created)
SELECT count(*) AS written FROM hold;
