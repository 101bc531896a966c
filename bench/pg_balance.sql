-- The statement of one GET /wallets/{id}/balance (the hot path): the wallet's accounts, the key's check joined in.
\set n random(1, :wallets)
SELECT w.asset, w.chain, a.kind, a.balance
  FROM api_keys k
  JOIN wallets w ON w.tenant_id = k.tenant_id
  JOIN ledger_accounts a ON a.wallet_id = w.id
 WHERE k.id = :key AND k.tenant_id = :tenant AND k.mode = 'sandbox' AND k.revoked_at IS NULL
   AND w.id = (SELECT id FROM bench_wallets WHERE n = :n);
