-- Written by `python -m bench.sql` from oms.fastlane.repository.STATEMENTS: do not edit.
-- The statement of one GET /wallets/{id}/balance as the fast lane runs it.
\set n random(1, :wallets)
SELECT wallets.asset, wallets.chain, ledger_accounts.kind, ledger_accounts.balance, api_keys.scopes 
FROM wallets JOIN ledger_accounts ON ledger_accounts.wallet_id = wallets.id, api_keys 
WHERE wallets.id = (SELECT id FROM bench_wallets WHERE n = :n)::VARCHAR AND wallets.tenant_id = api_keys.tenant_id AND api_keys.id = :key::text::VARCHAR AND api_keys.tenant_id = :tenant::text::VARCHAR AND api_keys.mode = 'sandbox'::VARCHAR AND api_keys.revoked_at IS NULL AND (api_keys.expires_at IS NULL OR api_keys.expires_at > now()::TIMESTAMP WITH TIME ZONE);
