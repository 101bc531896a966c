-- The writes of one POST /customers (sandbox quickstart body): key check, idempotency claim and lookup,
-- the customer, its three endorsements, three events, the stored response; one transaction.
BEGIN;
SELECT tenant_id, mode, revoked_at FROM api_keys WHERE id = :key;
SELECT set_config('bench.k', gen_random_uuid()::text, true);
SELECT pg_try_advisory_xact_lock(hashtext(current_setting('bench.k')));
SELECT response_status FROM idempotency_keys WHERE tenant_id = :tenant AND key = current_setting('bench.k');
INSERT INTO customers (id, tenant_id, type, status, signed_agreement, metadata, provided_fields, version, created_at, updated_at, external_id)
 VALUES (current_setting('bench.k'), :tenant, 'individual', 'active', false, '{}', '{}', 1, now(), now(), 'bench');
INSERT INTO endorsements (customer_id, name, status, requirements, rejection_reasons, created_at, updated_at)
 VALUES (current_setting('bench.k'), 'basic', 'active', '{}', '{}', now(), now()),
        (current_setting('bench.k'), 'cryptoCustody', 'active', '{}', '{}', now(), now()),
        (current_setting('bench.k'), 'usd', 'active', '{}', '{}', now(), now());
INSERT INTO events (id, tenant_id, type, object_id, sequence, data, created_at)
 VALUES (gen_random_uuid()::text, :tenant, 'customer.endorsement.granted', current_setting('bench.k'), 1, '{}', now()),
        (gen_random_uuid()::text, :tenant, 'customer.endorsement.granted', current_setting('bench.k'), 2, '{}', now()),
        (gen_random_uuid()::text, :tenant, 'customer.endorsement.granted', current_setting('bench.k'), 3, '{}', now());
INSERT INTO idempotency_keys (tenant_id, key, fingerprint, response_status, response_body, created_at, expires_at)
 VALUES (:tenant, current_setting('bench.k'), 'f', 201, '\x7b7d', now(), now() + interval '1 day');
COMMIT;
