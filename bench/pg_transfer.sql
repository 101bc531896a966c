-- Written by `python -m bench.sql` from oms.fastlane.repository.STATEMENTS: do not edit.
-- The statements of :batch quotes (POST /quotes) and their executions (POST /transactions) as the fast lane runs
-- them on PostgreSQL under load: the reads of concurrent requests as one statement, their writes as one statement
-- and one transaction (group commit). :batch=1 is an idle server. The first statement is the benchmark's own
-- bookkeeping (each statement's parameters for the batch, kept in session settings), one extra round trip.
WITH i AS MATERIALIZED (
  SELECT row_number() OVER () AS n, 'qt_' || gen_random_uuid() AS quote_id, 'txn_' || gen_random_uuid() AS reference,
         s.id AS source, s.customer_id AS customer, d.id AS destination, d.customer_id AS recipient,
         a.id AS available, h.id AS held
    FROM (SELECT 1 + floor(random() * :wallets)::int AS sn, 1 + floor(random() * :payees)::int AS dn
            FROM generate_series(1, :batch)) AS pick
    JOIN bench_wallets s ON s.n = pick.sn
    JOIN bench_wallets d ON d.n = pick.dn
    JOIN ledger_accounts a ON a.wallet_id = s.id AND a.kind = 'available'
    JOIN ledger_accounts h ON h.wallet_id = s.id AND h.kind = 'held'),
l AS (SELECT i.n, leg.* FROM i CROSS JOIN LATERAL (VALUES (1, i.available, -10000::bigint), (2, i.held, 10000::bigint))
        AS leg(leg, account, amount))
SELECT set_config('bench.quote_contexts_1', (SELECT array_agg(:key::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.quote_contexts_2', (SELECT array_agg(:tenant::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.quote_contexts_3', (SELECT array_agg('sandbox'::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.quote_contexts_4', (SELECT array_agg(now() ORDER BY i.n) FROM i)::text, false),
       set_config('bench.quote_contexts_5', (SELECT array_agg(i.quote_id ORDER BY i.n) FROM i)::text, false),
       set_config('bench.quote_contexts_6', (SELECT array_agg(i.customer ORDER BY i.n) FROM i)::text, false),
       set_config('bench.quote_contexts_7', (SELECT array_agg(i.source ORDER BY i.n) FROM i)::text, false),
       set_config('bench.quote_contexts_8', (SELECT array_agg(i.destination ORDER BY i.n) FROM i)::text, false),
       set_config('bench.create_quotes_1', (SELECT array_agg(:tenant::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.create_quotes_2', (SELECT array_agg(i.quote_id ORDER BY i.n) FROM i)::text, false),
       set_config('bench.create_quotes_3', (SELECT array_agg(repeat('f', 64) ORDER BY i.n) FROM i)::text, false),
       set_config('bench.create_quotes_4', (SELECT array_agg(201 ORDER BY i.n) FROM i)::text, false),
       set_config('bench.create_quotes_5', (SELECT array_agg(convert_to(repeat('q', 900), 'UTF8') ORDER BY i.n) FROM i)::text, false),
       set_config('bench.create_quotes_6', (SELECT array_agg(now() ORDER BY i.n) FROM i)::text, false),
       set_config('bench.create_quotes_7', (SELECT array_agg(now() + interval '1 day' ORDER BY i.n) FROM i)::text, false),
       set_config('bench.create_quotes_8', (SELECT array_agg(NULL::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.create_quotes_9', (SELECT array_agg(i.quote_id ORDER BY i.n) FROM i)::text, false),
       set_config('bench.create_quotes_10', (SELECT array_agg(:tenant::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.create_quotes_11', (SELECT array_agg(i.customer ORDER BY i.n) FROM i)::text, false),
       set_config('bench.create_quotes_12', (SELECT array_agg('cryptoToCrypto'::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.create_quotes_13', (SELECT array_agg('open'::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.create_quotes_14', (SELECT array_agg('usdc'::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.create_quotes_15', (SELECT array_agg('polygon'::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.create_quotes_16', (SELECT array_agg(i.source ORDER BY i.n) FROM i)::text, false),
       set_config('bench.create_quotes_17', (SELECT array_agg(i.destination ORDER BY i.n) FROM i)::text, false),
       set_config('bench.create_quotes_18', (SELECT array_agg('0x' || repeat('0', 40) ORDER BY i.n) FROM i)::text, false),
       set_config('bench.create_quotes_19', (SELECT array_agg('source'::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.create_quotes_20', (SELECT array_agg(10000 ORDER BY i.n) FROM i)::text, false),
       set_config('bench.create_quotes_21', (SELECT array_agg(0 ORDER BY i.n) FROM i)::text, false),
       set_config('bench.create_quotes_22', (SELECT array_agg(10000 ORDER BY i.n) FROM i)::text, false),
       set_config('bench.create_quotes_23', (SELECT array_agg('{}'::jsonb ORDER BY i.n) FROM i)::text, false),
       set_config('bench.create_quotes_24', (SELECT array_agg(now() ORDER BY i.n) FROM i)::text, false),
       set_config('bench.create_quotes_25', (SELECT array_agg(now() + interval '5 min' ORDER BY i.n) FROM i)::text, false),
       set_config('bench.create_quotes_26', (SELECT array_agg(NULL::timestamptz ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execution_contexts_1', (SELECT array_agg(:key::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execution_contexts_2', (SELECT array_agg(:tenant::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execution_contexts_3', (SELECT array_agg('sandbox'::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execution_contexts_4', (SELECT array_agg(now() ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execution_contexts_5', (SELECT array_agg(i.reference ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execution_contexts_6', (SELECT array_agg(i.quote_id ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_1', (SELECT array_agg('transfer.hold'::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_2', (SELECT array_agg(l.n ORDER BY l.n, l.leg) FROM l)::text, false),
       set_config('bench.execute_3', (SELECT array_agg(l.account ORDER BY l.n, l.leg) FROM l)::text, false),
       set_config('bench.execute_4', (SELECT array_agg('usdc' || chr(58) || 'polygon' ORDER BY l.n, l.leg) FROM l)::text, false),
       set_config('bench.execute_5', (SELECT array_agg(l.amount ORDER BY l.n, l.leg) FROM l)::text, false),
       set_config('bench.execute_6', (SELECT array_agg(:tenant::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_7', (SELECT array_agg(i.reference ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_8', (SELECT array_agg(repeat('f', 64) ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_9', (SELECT array_agg(201 ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_10', (SELECT array_agg(convert_to(repeat('t', 1100), 'UTF8') ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_11', (SELECT array_agg(now() ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_12', (SELECT array_agg(now() + interval '1 day' ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_13', (SELECT array_agg(NULL::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_14', (SELECT array_agg(i.reference ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_15', (SELECT array_agg(:tenant::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_16', (SELECT array_agg('cryptoToCrypto'::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_17', (SELECT array_agg('processing'::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_18', (SELECT array_agg('fundsHeld'::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_19', (SELECT array_agg(i.quote_id ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_20', (SELECT array_agg(i.customer ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_21', (SELECT array_agg(i.recipient ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_22', (SELECT array_agg(i.source ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_23', (SELECT array_agg(i.destination ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_24', (SELECT array_agg('0x' || repeat('0', 40) ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_25', (SELECT array_agg('usdc'::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_26', (SELECT array_agg('polygon'::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_27', (SELECT array_agg('source'::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_28', (SELECT array_agg(10000 ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_29', (SELECT array_agg(0 ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_30', (SELECT array_agg(10000 ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_31', (SELECT array_agg(NULL::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_32', (SELECT array_agg(NULL::jsonb ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_33', (SELECT array_agg('{}'::jsonb ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_34', (SELECT array_agg('{}'::jsonb ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_35', (SELECT array_agg(1 ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_36', (SELECT array_agg(now() ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_37', (SELECT array_agg(now() ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_38', (SELECT array_agg(NULL::timestamptz ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_39', (SELECT array_agg('send_' || gen_random_uuid() ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_40', (SELECT array_agg(:tenant::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_41', (SELECT array_agg('transfer'::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_42', (SELECT array_agg(i.reference ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_43', (SELECT array_agg('polygon'::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_44', (SELECT array_agg('usdc'::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_45', (SELECT array_agg('0x' || repeat('0', 40) ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_46', (SELECT array_agg(0 ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_47', (SELECT array_agg('0x' || repeat('0', 40) ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_48', (SELECT array_agg(i.destination ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_49', (SELECT array_agg(10000 ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_50', (SELECT array_agg('queued'::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_51', (SELECT array_agg(NULL::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_52', (SELECT array_agg(NULL::bigint ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_53', (SELECT array_agg(NULL::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_54', (SELECT array_agg(NULL::bigint ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_55', (SELECT array_agg(false ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_56', (SELECT array_agg(NULL::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_57', (SELECT array_agg(now() ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_58', (SELECT array_agg(NULL::timestamptz ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_59', (SELECT array_agg(now() ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_60', (SELECT array_agg(now() ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_61', (SELECT array_agg('evt_' || gen_random_uuid() ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_62', (SELECT array_agg(:tenant::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_63', (SELECT array_agg('transaction.cryptoToCrypto.processing'::text ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_64', (SELECT array_agg(i.reference ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_65', (SELECT array_agg(1 ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_66', (SELECT array_agg(jsonb_build_object('padding', repeat('e', 1200)) ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_67', (SELECT array_agg(now() ORDER BY i.n) FROM i)::text, false),
       set_config('bench.execute_68', (SELECT array_agg(NULL::timestamptz ORDER BY i.n) FROM i)::text, false);
SELECT p.batch_index, found.* FROM unnest(current_setting('bench.quote_contexts_1')::text[], current_setting('bench.quote_contexts_2')::text[], current_setting('bench.quote_contexts_3')::text[], current_setting('bench.quote_contexts_4')::text[], current_setting('bench.quote_contexts_5')::text[], current_setting('bench.quote_contexts_6')::text[], current_setting('bench.quote_contexts_7')::text[], current_setting('bench.quote_contexts_8')::text[]) WITH ORDINALITY AS p(key_id, tenant_id, mode, now, idempotency_key, customer_id, source_wallet_id, destination_wallet_id, batch_index) CROSS JOIN LATERAL (SELECT api_keys.scopes AS key_scopes, EXISTS (SELECT * 
FROM idempotency_keys 
WHERE idempotency_keys.tenant_id = api_keys.tenant_id AND idempotency_keys.key = p.idempotency_key::VARCHAR) AS replay, EXISTS (SELECT * 
FROM policies 
WHERE policies.tenant_id = api_keys.tenant_id AND policies.status = 'active') AS controls, (SELECT tenant_clocks.offset_ms 
FROM tenant_clocks 
WHERE tenant_clocks.tenant_id = api_keys.tenant_id) AS offset_ms, customers.status AS customer_status, (SELECT array_agg(endorsements.name) AS array_agg_1 
FROM endorsements 
WHERE endorsements.customer_id = customers.id AND endorsements.status = 'active') AS endorsements, s.id AS s_id, s.customer_id AS s_customer_id, s.asset AS s_asset, s.chain AS s_chain, s.address AS s_address, s.key_index AS s_key_index, s.status AS s_status, d.id AS d_id, d.customer_id AS d_customer_id, d.asset AS d_asset, d.chain AS d_chain, d.address AS d_address, d.key_index AS d_key_index, d.status AS d_status 
FROM api_keys JOIN customers ON customers.id = p.customer_id::VARCHAR AND customers.tenant_id = api_keys.tenant_id JOIN wallets AS s ON s.id = p.source_wallet_id::VARCHAR AND s.tenant_id = api_keys.tenant_id LEFT OUTER JOIN wallets AS d ON d.id = p.destination_wallet_id::VARCHAR AND d.tenant_id = api_keys.tenant_id 
WHERE api_keys.id = p.key_id::VARCHAR AND api_keys.tenant_id = p.tenant_id::VARCHAR AND api_keys.mode = p.mode::VARCHAR AND api_keys.revoked_at IS NULL AND (api_keys.expires_at IS NULL OR api_keys.expires_at > p.now::TIMESTAMP WITH TIME ZONE)) AS found;
WITH claimed AS (INSERT INTO idempotency_keys (tenant_id, key, fingerprint, response_status, response_body, created_at, expires_at, request_id) SELECT r.tenant_id, r.key, r.fingerprint, r.response_status, r.response_body, r.created_at, r.expires_at, r.request_id FROM unnest(current_setting('bench.create_quotes_1')::text[], current_setting('bench.create_quotes_2')::text[], current_setting('bench.create_quotes_3')::text[], current_setting('bench.create_quotes_4')::INTEGER[], current_setting('bench.create_quotes_5')::BYTEA[], current_setting('bench.create_quotes_6')::TIMESTAMP WITH TIME ZONE[], current_setting('bench.create_quotes_7')::TIMESTAMP WITH TIME ZONE[], current_setting('bench.create_quotes_8')::text[]) WITH ORDINALITY AS r(tenant_id, key, fingerprint, response_status, response_body, created_at, expires_at, request_id, batch_index) ON CONFLICT DO NOTHING RETURNING tenant_id, key),
     written AS MATERIALIZED (SELECT r.batch_index FROM unnest(current_setting('bench.create_quotes_1')::text[], current_setting('bench.create_quotes_2')::text[], current_setting('bench.create_quotes_3')::text[], current_setting('bench.create_quotes_4')::INTEGER[], current_setting('bench.create_quotes_5')::BYTEA[], current_setting('bench.create_quotes_6')::TIMESTAMP WITH TIME ZONE[], current_setting('bench.create_quotes_7')::TIMESTAMP WITH TIME ZONE[], current_setting('bench.create_quotes_8')::text[]) WITH ORDINALITY AS r(tenant_id, key, fingerprint, response_status, response_body, created_at, expires_at, request_id, batch_index)
                               JOIN claimed c ON c.tenant_id = r.tenant_id AND c.key = r.key),
     created AS (INSERT INTO quotes (id, tenant_id, customer_id, type, status, asset, chain, source_wallet_id, destination_wallet_id, destination_address, fixed_side, source_gross, fee, destination_net, metadata, created_at, expires_at, accepted_at) SELECT q.id, q.tenant_id, q.customer_id, q.type, q.status, q.asset, q.chain, q.source_wallet_id, q.destination_wallet_id, q.destination_address, q.fixed_side, q.source_gross, q.fee, q.destination_net, q.metadata, q.created_at, q.expires_at, q.accepted_at FROM unnest(current_setting('bench.create_quotes_9')::text[], current_setting('bench.create_quotes_10')::text[], current_setting('bench.create_quotes_11')::text[], current_setting('bench.create_quotes_12')::text[], current_setting('bench.create_quotes_13')::text[], current_setting('bench.create_quotes_14')::text[], current_setting('bench.create_quotes_15')::text[], current_setting('bench.create_quotes_16')::text[], current_setting('bench.create_quotes_17')::text[], current_setting('bench.create_quotes_18')::text[], current_setting('bench.create_quotes_19')::text[], current_setting('bench.create_quotes_20')::BIGINT[], current_setting('bench.create_quotes_21')::BIGINT[], current_setting('bench.create_quotes_22')::BIGINT[], current_setting('bench.create_quotes_23')::JSONB[], current_setting('bench.create_quotes_24')::TIMESTAMP WITH TIME ZONE[], current_setting('bench.create_quotes_25')::TIMESTAMP WITH TIME ZONE[], current_setting('bench.create_quotes_26')::TIMESTAMP WITH TIME ZONE[]) WITH ORDINALITY AS q(id, tenant_id, customer_id, type, status, asset, chain, source_wallet_id, destination_wallet_id, destination_address, fixed_side, source_gross, fee, destination_net, metadata, created_at, expires_at, accepted_at, batch_index) JOIN written USING (batch_index))
SELECT batch_index FROM written;
SELECT p.batch_index, found.* FROM unnest(current_setting('bench.execution_contexts_1')::text[], current_setting('bench.execution_contexts_2')::text[], current_setting('bench.execution_contexts_3')::text[], current_setting('bench.execution_contexts_4')::text[], current_setting('bench.execution_contexts_5')::text[], current_setting('bench.execution_contexts_6')::text[]) WITH ORDINALITY AS p(key_id, tenant_id, mode, now, idempotency_key, quote_id, batch_index) CROSS JOIN LATERAL (SELECT api_keys.scopes AS key_scopes, EXISTS (SELECT * 
FROM idempotency_keys 
WHERE idempotency_keys.tenant_id = api_keys.tenant_id AND idempotency_keys.key = p.idempotency_key::VARCHAR) AS replay, EXISTS (SELECT * 
FROM policies 
WHERE policies.tenant_id = api_keys.tenant_id AND policies.status = 'active') AS controls, (SELECT tenant_clocks.offset_ms 
FROM tenant_clocks 
WHERE tenant_clocks.tenant_id = api_keys.tenant_id) AS offset_ms, customers.status AS customer_status, (SELECT array_agg(endorsements.name) AS array_agg_1 
FROM endorsements 
WHERE endorsements.customer_id = customers.id AND endorsements.status = 'active') AS endorsements, quotes.id AS q_id, quotes.tenant_id AS q_tenant_id, quotes.customer_id AS q_customer_id, quotes.type AS q_type, quotes.status AS q_status, quotes.asset AS q_asset, quotes.chain AS q_chain, quotes.source_wallet_id AS q_source_wallet_id, quotes.destination_wallet_id AS q_destination_wallet_id, quotes.destination_address AS q_destination_address, quotes.fixed_side AS q_fixed_side, quotes.source_gross AS q_source_gross, quotes.fee AS q_fee, quotes.destination_net AS q_destination_net, quotes.metadata AS q_metadata, quotes.created_at AS q_created_at, quotes.expires_at AS q_expires_at, quotes.accepted_at AS q_accepted_at, s.address AS source_address, s.key_index AS source_key_index, d.customer_id AS recipient_customer_id, a.id AS available_id, h.id AS held_id 
FROM api_keys JOIN quotes ON quotes.id = p.quote_id::VARCHAR AND quotes.tenant_id = api_keys.tenant_id JOIN customers ON customers.id = quotes.customer_id JOIN wallets AS s ON s.id = quotes.source_wallet_id LEFT OUTER JOIN wallets AS d ON d.id = quotes.destination_wallet_id JOIN ledger_accounts AS a ON a.wallet_id = s.id AND a.kind = 'available' JOIN ledger_accounts AS h ON h.wallet_id = s.id AND h.kind = 'held' 
WHERE api_keys.id = p.key_id::VARCHAR AND api_keys.tenant_id = p.tenant_id::VARCHAR AND api_keys.mode = p.mode::VARCHAR AND api_keys.revoked_at IS NULL AND (api_keys.expires_at IS NULL OR api_keys.expires_at > p.now::TIMESTAMP WITH TIME ZONE)) AS found;
WITH item AS MATERIALIZED (
       SELECT t.batch_index, t.quote_id, t.tenant_id, t.id AS reference, t.created_at AS at, i.kind
         FROM unnest(current_setting('bench.execute_14')::text[], current_setting('bench.execute_15')::text[], current_setting('bench.execute_16')::text[], current_setting('bench.execute_17')::text[], current_setting('bench.execute_18')::text[], current_setting('bench.execute_19')::text[], current_setting('bench.execute_20')::text[], current_setting('bench.execute_21')::text[], current_setting('bench.execute_22')::text[], current_setting('bench.execute_23')::text[], current_setting('bench.execute_24')::text[], current_setting('bench.execute_25')::text[], current_setting('bench.execute_26')::text[], current_setting('bench.execute_27')::text[], current_setting('bench.execute_28')::BIGINT[], current_setting('bench.execute_29')::BIGINT[], current_setting('bench.execute_30')::BIGINT[], current_setting('bench.execute_31')::text[], current_setting('bench.execute_32')::JSONB[], current_setting('bench.execute_33')::JSONB[], current_setting('bench.execute_34')::JSONB[], current_setting('bench.execute_35')::INTEGER[], current_setting('bench.execute_36')::TIMESTAMP WITH TIME ZONE[], current_setting('bench.execute_37')::TIMESTAMP WITH TIME ZONE[], current_setting('bench.execute_38')::TIMESTAMP WITH TIME ZONE[]) WITH ORDINALITY AS t(id, tenant_id, type, status, sub_status, quote_id, sender_customer_id, recipient_customer_id, source_wallet_id, destination_wallet_id, destination_address, asset, chain, fixed_side, source_gross, fee, destination_net, tx_hash, error, request, metadata, version, created_at, updated_at, completed_at, batch_index) JOIN unnest(current_setting('bench.execute_1')::text[]) WITH ORDINALITY AS i(kind, batch_index) USING (batch_index)),
     leg AS MATERIALIZED (SELECT * FROM unnest(current_setting('bench.execute_2')::bigint[], current_setting('bench.execute_3')::bigint[], current_setting('bench.execute_4')::text[], current_setting('bench.execute_5')::bigint[]) WITH ORDINALITY AS l(batch_index, account, currency, amount, leg)),
     open_quote AS MATERIALIZED (
       SELECT i.batch_index FROM quotes q JOIN item i ON q.id = i.quote_id
        WHERE q.status = 'open'
          FOR NO KEY UPDATE OF q SKIP LOCKED),
     locked AS MATERIALIZED (
       SELECT count(*) AS accounts FROM (
         SELECT a.id FROM ledger_accounts a
          WHERE a.id IN (SELECT l.account FROM leg l JOIN open_quote USING (batch_index))
          ORDER BY a.id FOR NO KEY UPDATE) AS account),
     claimed AS (INSERT INTO idempotency_keys (tenant_id, key, fingerprint, response_status, response_body, created_at, expires_at, request_id) SELECT r.tenant_id, r.key, r.fingerprint, r.response_status, r.response_body, r.created_at, r.expires_at, r.request_id FROM unnest(current_setting('bench.execute_6')::text[], current_setting('bench.execute_7')::text[], current_setting('bench.execute_8')::text[], current_setting('bench.execute_9')::INTEGER[], current_setting('bench.execute_10')::BYTEA[], current_setting('bench.execute_11')::TIMESTAMP WITH TIME ZONE[], current_setting('bench.execute_12')::TIMESTAMP WITH TIME ZONE[], current_setting('bench.execute_13')::text[]) WITH ORDINALITY AS r(tenant_id, key, fingerprint, response_status, response_body, created_at, expires_at, request_id, batch_index) JOIN open_quote USING (batch_index) CROSS JOIN locked
                 ON CONFLICT DO NOTHING RETURNING tenant_id, key),
     written AS MATERIALIZED (
       SELECT r.batch_index FROM unnest(current_setting('bench.execute_6')::text[], current_setting('bench.execute_7')::text[], current_setting('bench.execute_8')::text[], current_setting('bench.execute_9')::INTEGER[], current_setting('bench.execute_10')::BYTEA[], current_setting('bench.execute_11')::TIMESTAMP WITH TIME ZONE[], current_setting('bench.execute_12')::TIMESTAMP WITH TIME ZONE[], current_setting('bench.execute_13')::text[]) WITH ORDINALITY AS r(tenant_id, key, fingerprint, response_status, response_body, created_at, expires_at, request_id, batch_index) JOIN claimed c ON c.tenant_id = r.tenant_id AND c.key = r.key),
     accepted AS (
       UPDATE quotes q SET status = 'accepted', accepted_at = i.at
         FROM item i JOIN written USING (batch_index) WHERE q.id = i.quote_id),
     created AS (INSERT INTO transactions (id, tenant_id, type, status, sub_status, quote_id, sender_customer_id, recipient_customer_id, source_wallet_id, destination_wallet_id, destination_address, asset, chain, fixed_side, source_gross, fee, destination_net, tx_hash, error, request, metadata, version, created_at, updated_at, completed_at) SELECT t.id, t.tenant_id, t.type, t.status, t.sub_status, t.quote_id, t.sender_customer_id, t.recipient_customer_id, t.source_wallet_id, t.destination_wallet_id, t.destination_address, t.asset, t.chain, t.fixed_side, t.source_gross, t.fee, t.destination_net, t.tx_hash, t.error, t.request, t.metadata, t.version, t.created_at, t.updated_at, t.completed_at FROM unnest(current_setting('bench.execute_14')::text[], current_setting('bench.execute_15')::text[], current_setting('bench.execute_16')::text[], current_setting('bench.execute_17')::text[], current_setting('bench.execute_18')::text[], current_setting('bench.execute_19')::text[], current_setting('bench.execute_20')::text[], current_setting('bench.execute_21')::text[], current_setting('bench.execute_22')::text[], current_setting('bench.execute_23')::text[], current_setting('bench.execute_24')::text[], current_setting('bench.execute_25')::text[], current_setting('bench.execute_26')::text[], current_setting('bench.execute_27')::text[], current_setting('bench.execute_28')::BIGINT[], current_setting('bench.execute_29')::BIGINT[], current_setting('bench.execute_30')::BIGINT[], current_setting('bench.execute_31')::text[], current_setting('bench.execute_32')::JSONB[], current_setting('bench.execute_33')::JSONB[], current_setting('bench.execute_34')::JSONB[], current_setting('bench.execute_35')::INTEGER[], current_setting('bench.execute_36')::TIMESTAMP WITH TIME ZONE[], current_setting('bench.execute_37')::TIMESTAMP WITH TIME ZONE[], current_setting('bench.execute_38')::TIMESTAMP WITH TIME ZONE[]) WITH ORDINALITY AS t(id, tenant_id, type, status, sub_status, quote_id, sender_customer_id, recipient_customer_id, source_wallet_id, destination_wallet_id, destination_address, asset, chain, fixed_side, source_gross, fee, destination_net, tx_hash, error, request, metadata, version, created_at, updated_at, completed_at, batch_index) JOIN written USING (batch_index)),
     queued AS (INSERT INTO chain_sends (id, tenant_id, purpose, reference, chain, asset, from_address, from_key_index, to_address, to_wallet_id, amount, status, fee_payer, nonce, tx_hash, block_number, settled, last_error, next_check_at, broadcast_at, created_at, updated_at) SELECT s.id, s.tenant_id, s.purpose, s.reference, s.chain, s.asset, s.from_address, s.from_key_index, s.to_address, s.to_wallet_id, s.amount, s.status, s.fee_payer, s.nonce, s.tx_hash, s.block_number, s.settled, s.last_error, s.next_check_at, s.broadcast_at, s.created_at, s.updated_at FROM unnest(current_setting('bench.execute_39')::text[], current_setting('bench.execute_40')::text[], current_setting('bench.execute_41')::text[], current_setting('bench.execute_42')::text[], current_setting('bench.execute_43')::text[], current_setting('bench.execute_44')::text[], current_setting('bench.execute_45')::text[], current_setting('bench.execute_46')::BIGINT[], current_setting('bench.execute_47')::text[], current_setting('bench.execute_48')::text[], current_setting('bench.execute_49')::BIGINT[], current_setting('bench.execute_50')::text[], current_setting('bench.execute_51')::text[], current_setting('bench.execute_52')::BIGINT[], current_setting('bench.execute_53')::text[], current_setting('bench.execute_54')::BIGINT[], current_setting('bench.execute_55')::BOOLEAN[], current_setting('bench.execute_56')::text[], current_setting('bench.execute_57')::TIMESTAMP WITH TIME ZONE[], current_setting('bench.execute_58')::TIMESTAMP WITH TIME ZONE[], current_setting('bench.execute_59')::TIMESTAMP WITH TIME ZONE[], current_setting('bench.execute_60')::TIMESTAMP WITH TIME ZONE[]) WITH ORDINALITY AS s(id, tenant_id, purpose, reference, chain, asset, from_address, from_key_index, to_address, to_wallet_id, amount, status, fee_payer, nonce, tx_hash, block_number, settled, last_error, next_check_at, broadcast_at, created_at, updated_at, batch_index) JOIN written USING (batch_index)),
     emitted AS (INSERT INTO events (id, tenant_id, type, object_id, sequence, data, created_at, dispatched_at) SELECT e.id, e.tenant_id, e.type, e.object_id, e.sequence, e.data, e.created_at, e.dispatched_at FROM unnest(current_setting('bench.execute_61')::text[], current_setting('bench.execute_62')::text[], current_setting('bench.execute_63')::text[], current_setting('bench.execute_64')::text[], current_setting('bench.execute_65')::INTEGER[], current_setting('bench.execute_66')::JSONB[], current_setting('bench.execute_67')::TIMESTAMP WITH TIME ZONE[], current_setting('bench.execute_68')::TIMESTAMP WITH TIME ZONE[]) WITH ORDINALITY AS e(id, tenant_id, type, object_id, sequence, data, created_at, dispatched_at, batch_index) JOIN written USING (batch_index)),
     held AS (
       SELECT i.batch_index,
              oms_post_entry(i.tenant_id, i.kind, i.reference, i.at, array_agg(l.account ORDER BY l.leg),
                             array_agg(l.currency ORDER BY l.leg), array_agg(l.amount ORDER BY l.leg)) AS entry
         FROM item i JOIN written USING (batch_index) JOIN leg l USING (batch_index)
        GROUP BY i.batch_index, i.tenant_id, i.kind, i.reference, i.at)
SELECT batch_index FROM held;
