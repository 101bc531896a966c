#!/usr/bin/env bash
# API benchmark on PostgreSQL with production settings, and the database ceiling for the same statements,
# in one run. Usage: bash bench/run.sh [seconds] [connections]    (results: bench/results/api.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-15}
CONNECTIONS=${2:-32}
URL=${OMS_BENCH_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}
PORT=${OMS_BENCH_PORT:-8095}
OUT=bench/results
mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "bench: needs wrk (apt-get install wrk)"; exit 2; }
# shellcheck source=bench/common.sh
source bench/common.sh
refuse_busy_port

.venv/bin/python bench/setup.py --url "$URL" --wallets 200 --out "$OUT" 2>/dev/null
read -r SCHEMA KEY SECRET TENANT < <(.venv/bin/python - <<'PY'
import json
d = json.load(open("bench/results/dataset.json"))
open("bench/results/wallets.txt", "w").write("\n".join(w["wallet"] for w in d["wallets"]))
open("bench/results/customers.txt", "w").write("\n".join(f"{w['customer']} {w['wallet']}" for w in d["wallets"]))
open("bench/results/env.sh", "w").write("".join(f"export {k}='{v}'\n" for k, v in d["env"].items()))
print(d["schema"], d["apiKey"], d["apiSecret"], d["tenant"])
PY
)
start_server "$OUT/serve.log"

psql -q "$URL" -c "SET search_path TO \"$SCHEMA\"; CREATE TABLE bench_wallets AS SELECT row_number() OVER (ORDER BY id) AS n, id, customer_id FROM wallets; ALTER TABLE bench_wallets ADD PRIMARY KEY (n);" >/dev/null
# The database alone, with the session settings of the pool the server uses for that script (the hot pool's
# generic plans but for customers). PGB_BATCH: pairs per statement (bench/pg_transfer.sql); the figure printed is per
# item (pairs for transfers).
pgb() { local batch=${PGB_BATCH:-1} options="-c search_path=$SCHEMA"
  [ "$1" = bench/pg_customer.sql ] || options="$options -c plan_cache_mode=force_generic_plan"
  PGOPTIONS="$options" pgbench -n -M prepared -c "$CONNECTIONS" -j 2 -T "$DURATION" -D key="$KEY" -D tenant="$TENANT" -D batch="$batch" \
  -D wallets="$( [ -n "${PGB_HOT:-}" ] && echo 1 || echo 200 )" -D payees=200 -f "$1" "$URL" 2>/dev/null \
  | awk -v batch="$batch" '/^latency average/{lat=$4} /^tps/{tps=$3} END{printf "per_s=%.0f latency_avg_ms=%s\n", tps * batch, lat}'; }

{
  echo "# $(date -u +%FT%TZ) duration=${DURATION}s connections=$CONNECTIONS workers=2 $(nproc) cores autovacuum=$(psql -At "$URL" -c 'SHOW autovacuum')"
  settle
  wrk -t1 -c"$CONNECTIONS" -d3s -s bench/balance.lua "http://127.0.0.1:$PORT" >/dev/null  # warm-up
  echo "balance api     $(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s bench/balance.lua "http://127.0.0.1:$PORT" | grep RESULT)"
  settle
  echo "balance db      $(pgb bench/pg_balance.sql)"
  settle
  echo "customers api   $(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s bench/customers.lua "http://127.0.0.1:$PORT" | grep RESULT)"
  settle
  echo "customers db    $(pgb bench/pg_customer.sql)"
  settle
  echo "transfers api   $(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s bench/transfers.lua "http://127.0.0.1:$PORT" | grep RESULT)"
  settle
  echo "transfers db    1 pair per statement: $(pgb bench/pg_transfer.sql); 8: $(settle; PGB_BATCH=8 pgb bench/pg_transfer.sql)"
  settle
  echo "hot wallet api  $(OMS_BENCH_HOT=1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s bench/transfers.lua "http://127.0.0.1:$PORT" | grep RESULT)"
  settle
  echo "hot wallet db   1 pair per statement: $(PGB_HOT=1 pgb bench/pg_transfer.sql); 8: $(settle; PGB_HOT=1 PGB_BATCH=8 pgb bench/pg_transfer.sql)"
} | tee "$OUT/api.txt"
