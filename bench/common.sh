# Sourced by the bench scripts: what they do around a measurement. Uses URL, PORT, SCHEMA, KEY,
# SECRET and OUT from the caller (use_dataset sets the middle three).

# A server left over from an earlier run on the same port would answer the load with its own code.
refuse_busy_port() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then echo "bench: port $PORT is already in use"; exit 2; fi
}

# The dataset of an earlier bench/run.sh, for the scripts that measure one load on it (in alternating runs of two
# versions): its SCHEMA, KEY and SECRET.
use_dataset() {
  [ -f "$OUT/dataset.json" ] || { echo "bench: run bench/run.sh once first (it makes the dataset)"; exit 2; }
  read -r SCHEMA KEY SECRET < <(.venv/bin/python -c "import json; d = json.load(open('$OUT/dataset.json')); print(d['schema'], d['apiKey'], d['apiSecret'])")
}

# The server with its production settings (its log in $1), stopped when the script exits, and a bearer token in
# OMS_BENCH_TOKEN for the load scripts.
start_server() {
  # shellcheck disable=SC1091
  source "$OUT/env.sh"
  export OMS_EMBEDDED_WORKER=false OMS_PORT=$PORT OMS_WORKERS=2 OMS_LOG_LEVEL=INFO
  .venv/bin/oms serve >"$1" 2>&1 &
  SERVER=$!
  trap 'kill $SERVER 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/v0.9/openapi.json" >/dev/null && break; sleep 0.1; done
  OMS_BENCH_TOKEN=$(curl -s -X POST "http://127.0.0.1:$PORT/v0.9/auth/token" -H 'Content-Type: application/json' \
    -d "{\"apiKey\":\"$KEY\",\"apiSecret\":\"$SECRET\"}" | .venv/bin/python -c "import sys,json;print(json.load(sys.stdin)['accessToken'])")
  export OMS_BENCH_TOKEN
}

# Before each measurement, vacuum and analyse the schema, as autovacuum keeps a production database: the hot
# wallet's account rows take two updates per transfer, and their dead versions (which this machine's PostgreSQL,
# with autovacuum off, would otherwise keep) slowed the hot-wallet phase fourfold. Cheap at these sizes.
settle() {
  psql -q "$URL" -At -c "SELECT format('VACUUM ANALYZE %I.%I;', schemaname, tablename) FROM pg_tables WHERE schemaname = '$SCHEMA'" \
    | psql -q "$URL" >/dev/null
}
