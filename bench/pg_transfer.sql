-- The statements of :batch quotes (POST /quotes) and their executions (POST /transactions) as the server runs them on
-- PostgreSQL under load (oms/hotwrites.py; SQL in oms/quote/repository.py and oms/transaction/repository.py): the
-- reads of concurrent requests as one statement (a lookup per parameter set, through a lateral join over arrays),
-- their writes as one statement and one transaction (group commit, the rows as column arrays). :batch=1 is an idle
-- server, one request per statement. Payloads are the size of the server's (events, stored answers); the key check
-- is joined in as the server's is. The first statement is the benchmark's own bookkeeping (the batch's ids, wallets
-- and accounts, kept in session settings), one cheap extra round trip per batch.
SELECT set_config('bench.q', array_agg('qt_' || gen_random_uuid()::text)::text, false),
       set_config('bench.t', array_agg('txn_' || gen_random_uuid()::text)::text, false),
       set_config('bench.source', array_agg(s.id)::text, false),
       set_config('bench.customer', array_agg(s.customer_id)::text, false),
       set_config('bench.destination', array_agg(d.id)::text, false),
       set_config('bench.recipient', array_agg(d.customer_id)::text, false),
       set_config('bench.available', array_agg(a.id)::text, false),
       set_config('bench.held', array_agg(h.id)::text, false)
  FROM (SELECT 1 + floor(random() * :wallets)::int AS sn, 1 + floor(random() * 200)::int AS dn
          FROM generate_series(1, :batch)) AS pick
  JOIN bench_wallets s ON s.n = pick.sn
  JOIN bench_wallets d ON d.n = pick.dn
  JOIN ledger_accounts a ON a.wallet_id = s.id AND a.kind = 'available'
  JOIN ledger_accounts h ON h.wallet_id = s.id AND h.kind = 'held';
SELECT p.batch_index, found.*
  FROM unnest(current_setting('bench.q')::text[], current_setting('bench.customer')::text[],
              current_setting('bench.source')::text[], current_setting('bench.destination')::text[])
       WITH ORDINALITY AS p(idempotency_key, customer, source, destination, batch_index)
 CROSS JOIN LATERAL (
  SELECT EXISTS (SELECT 1 FROM idempotency_keys r WHERE r.tenant_id = k.tenant_id AND r.key = p.idempotency_key) AS replay,
         (SELECT offset_ms FROM tenant_clocks t WHERE t.tenant_id = k.tenant_id) AS offset_ms,
         c.status AS customer_status,
         ARRAY(SELECT e.name FROM endorsements e WHERE e.customer_id = c.id AND e.status = 'active') AS endorsements,
         s.id, s.customer_id, s.asset, s.chain, s.address, s.key_index, s.status,
         d.id, d.customer_id, d.asset, d.chain, d.address, d.key_index, d.status
    FROM api_keys k
    JOIN customers c ON c.id = p.customer AND c.tenant_id = k.tenant_id
    JOIN wallets s ON s.id = p.source AND s.tenant_id = k.tenant_id
    LEFT JOIN wallets d ON d.id = p.destination AND d.tenant_id = k.tenant_id
   WHERE k.id = :key AND k.tenant_id = :tenant AND k.mode = 'sandbox' AND k.revoked_at IS NULL) AS found;
WITH r AS (SELECT * FROM unnest(current_setting('bench.q')::text[]) WITH ORDINALITY AS r(key, batch_index)),
 claimed AS (INSERT INTO idempotency_keys (tenant_id, key, fingerprint, response_status, response_body, created_at,
  expires_at)
 SELECT :tenant, r.key, repeat('f', 64), 201, convert_to(repeat('q', 900), 'UTF8'), now(), now() + interval '1 day' FROM r
 ON CONFLICT DO NOTHING RETURNING tenant_id, key),
 written AS MATERIALIZED (SELECT r.batch_index FROM r JOIN claimed c ON c.tenant_id = :tenant AND c.key = r.key),
 created AS (INSERT INTO quotes (id, tenant_id, customer_id, type, status, asset, chain, source_wallet_id,
  destination_wallet_id, destination_address, fixed_side, source_gross, fee, destination_net, metadata, created_at, expires_at,
  accepted_at)
 SELECT q.id, :tenant, q.customer, 'cryptoToCrypto', 'open', 'usdc', 'polygon', q.source, q.destination,
  '0x0000000000000000000000000000000000000000', 'source', 10000, 0, 10000, '{}'::jsonb, now(), now() + interval '5 min', NULL
  FROM unnest(current_setting('bench.q')::text[], current_setting('bench.customer')::text[],
              current_setting('bench.source')::text[], current_setting('bench.destination')::text[])
       WITH ORDINALITY AS q(id, customer, source, destination, batch_index)
  JOIN written USING (batch_index))
SELECT batch_index FROM written;
SELECT p.batch_index, found.*
  FROM unnest(current_setting('bench.t')::text[], current_setting('bench.q')::text[])
       WITH ORDINALITY AS p(idempotency_key, quote, batch_index)
 CROSS JOIN LATERAL (
  SELECT EXISTS (SELECT 1 FROM idempotency_keys r WHERE r.tenant_id = k.tenant_id AND r.key = p.idempotency_key) AS replay,
         (SELECT offset_ms FROM tenant_clocks t WHERE t.tenant_id = k.tenant_id) AS offset_ms,
         q.*,
         c.status AS customer_status,
         ARRAY(SELECT e.name FROM endorsements e WHERE e.customer_id = c.id AND e.status = 'active') AS endorsements,
         s.address AS source_address, s.key_index AS source_key_index,
         d.customer_id AS recipient_customer_id,
         a.id AS available_id, a.balance AS available, h.id AS held_id
    FROM api_keys k
    JOIN quotes q ON q.id = p.quote AND q.tenant_id = k.tenant_id
    JOIN customers c ON c.id = q.customer_id
    JOIN wallets s ON s.id = q.source_wallet_id
    LEFT JOIN wallets d ON d.id = q.destination_wallet_id
    JOIN ledger_accounts a ON a.wallet_id = s.id AND a.kind = 'available'
    JOIN ledger_accounts h ON h.wallet_id = s.id AND h.kind = 'held'
   WHERE k.id = :key AND k.tenant_id = :tenant AND k.mode = 'sandbox' AND k.revoked_at IS NULL) AS found;
WITH item AS MATERIALIZED (
  SELECT * FROM unnest(current_setting('bench.q')::text[], current_setting('bench.t')::text[],
                       current_setting('bench.customer')::text[], current_setting('bench.recipient')::text[],
                       current_setting('bench.source')::text[], current_setting('bench.destination')::text[])
         WITH ORDINALITY AS i(quote_id, reference, customer, recipient, source, destination, batch_index)),
 leg AS MATERIALIZED (
  SELECT i.batch_index, leg.* FROM unnest(current_setting('bench.available')::bigint[], current_setting('bench.held')::bigint[])
         WITH ORDINALITY AS i(available, held, batch_index)
   CROSS JOIN LATERAL (VALUES (1, i.available, 'usdc' || chr(58) || 'polygon', -10000::bigint),
                              (2, i.held, 'usdc' || chr(58) || 'polygon', 10000::bigint)) AS leg(leg, account, currency, amount)),
 open_quote AS MATERIALIZED (
  SELECT i.batch_index FROM quotes q JOIN item i ON q.id = i.quote_id
   WHERE q.status = 'open' AND q.expires_at > now()
     FOR NO KEY UPDATE OF q SKIP LOCKED),
 account AS MATERIALIZED (
  SELECT a.id, a.balance FROM ledger_accounts a
   WHERE a.id IN (SELECT l.account FROM leg l JOIN open_quote USING (batch_index))
   ORDER BY a.id FOR UPDATE),
 funded AS MATERIALIZED (
  SELECT batch_index FROM (
    SELECT l.batch_index, l.amount,
           a.balance + sum(least(l.amount, 0)) OVER (PARTITION BY l.account ORDER BY l.batch_index) AS after
      FROM leg l JOIN open_quote USING (batch_index) JOIN account a ON a.id = l.account) AS debit
   GROUP BY batch_index
  HAVING bool_and(amount >= 0 OR after >= 0)),
 claimed AS (INSERT INTO idempotency_keys (tenant_id, key, fingerprint, response_status, response_body, created_at,
  expires_at)
 SELECT :tenant, i.reference, repeat('f', 64), 201, convert_to(repeat('t', 1100), 'UTF8'), now(), now() + interval '1 day'
  FROM item i JOIN funded USING (batch_index) ON CONFLICT DO NOTHING RETURNING tenant_id, key),
 written AS MATERIALIZED (SELECT i.batch_index FROM item i JOIN claimed c ON c.tenant_id = :tenant AND c.key = i.reference),
 accepted AS (UPDATE quotes q SET status = 'accepted', accepted_at = now()
  FROM item i JOIN written USING (batch_index) WHERE q.id = i.quote_id),
 created AS (INSERT INTO transactions (id, tenant_id, type, status, sub_status, quote_id, sender_customer_id,
  recipient_customer_id, source_wallet_id, destination_wallet_id, destination_address, asset, chain, fixed_side, source_gross,
  fee, destination_net, tx_hash, error, request, metadata, version, created_at, updated_at, completed_at)
 SELECT i.reference, :tenant, 'cryptoToCrypto', 'processing', 'fundsHeld', i.quote_id, i.customer, i.recipient, i.source,
  i.destination, '0x0000000000000000000000000000000000000000', 'usdc', 'polygon', 'source', 10000, 0, 10000, NULL, NULL,
  '{}'::jsonb, '{}'::jsonb, 1, now(), now(), NULL FROM item i JOIN written USING (batch_index)),
 queued AS (INSERT INTO chain_sends (id, tenant_id, purpose, reference, chain, asset, from_address, from_key_index, to_address,
  to_wallet_id, amount, status, fee_payer, nonce, tx_hash, block_number, settled, last_error, next_check_at, broadcast_at,
  created_at, updated_at)
 SELECT 'send_' || gen_random_uuid()::text, :tenant, 'transfer', i.reference, 'polygon', 'usdc',
  '0x0000000000000000000000000000000000000000', 0, '0x0000000000000000000000000000000000000000', i.destination, 10000,
  'queued', NULL, NULL, NULL, NULL, false, NULL, now(), NULL, now(), now() FROM item i JOIN written USING (batch_index)),
 emitted AS (INSERT INTO events (id, tenant_id, type, object_id, sequence, data, created_at, dispatched_at)
 SELECT 'evt_' || gen_random_uuid()::text, :tenant, 'transaction.cryptoToCrypto.processing', i.reference, 1,
  jsonb_build_object('padding', repeat('e', 1200)), now(), NULL FROM item i JOIN written USING (batch_index)),
 held AS (
  SELECT i.batch_index,
         oms_post_entry(:tenant, 'transfer.hold', i.reference, now(), array_agg(l.account ORDER BY l.leg),
                        array_agg(l.currency ORDER BY l.leg), array_agg(l.amount ORDER BY l.leg)) AS entry
    FROM item i JOIN written USING (batch_index) JOIN leg l USING (batch_index)
   GROUP BY i.batch_index, i.reference)
SELECT batch_index FROM held;
