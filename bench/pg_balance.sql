-- The statements of one GET /wallets/{id}/balance: the key check, then the wallet with its accounts.
\set n random(1, :wallets)
SELECT tenant_id, mode, revoked_at FROM api_keys WHERE id = :key;
SELECT w.asset, w.chain, a.kind, a.balance FROM wallets w JOIN ledger_accounts a ON a.wallet_id = w.id
 WHERE w.id = (SELECT id FROM bench_wallets WHERE n = :n) AND w.tenant_id = :tenant;
