#!/usr/bin/env bash
# The transfer load alone, for comparing two versions of the server in alternating runs on one dataset, with the
# CPU the database and the API processes used per executed pair. Needs the dataset of an earlier `bench/run.sh`.
# Usage: bash bench/transfers.sh [seconds] [connections] [hot: 0|1]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
CONNECTIONS=${2:-32}
HOT=${3:-0}
URL=${OMS_BENCH_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}
PORT=${OMS_BENCH_PORT:-8096}
OUT=bench/results
[ -f "$OUT/dataset.json" ] || { echo "bench: run bench/run.sh once first (it makes the dataset)"; exit 2; }
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then echo "bench: port $PORT is already in use"; exit 2; fi
read -r SCHEMA KEY SECRET < <(.venv/bin/python -c "import json; d = json.load(open('$OUT/dataset.json')); print(d['schema'], d['apiKey'], d['apiSecret'])")
# shellcheck disable=SC1091
source "$OUT/env.sh"
# As bench/run.sh does before each measurement: the state autovacuum would keep.
psql -q "$URL" -At -c "SELECT format('VACUUM ANALYZE %I.%I;', schemaname, tablename) FROM pg_tables WHERE schemaname = '$SCHEMA'" \
  | psql -q "$URL" >/dev/null
export OMS_EMBEDDED_WORKER=false OMS_PORT=$PORT OMS_WORKERS=2 OMS_LOG_LEVEL=INFO
.venv/bin/oms serve >"$OUT/transfers-serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/v0.9/openapi.json" >/dev/null && break; sleep 0.1; done
OMS_BENCH_TOKEN=$(curl -s -X POST "http://127.0.0.1:$PORT/v0.9/auth/token" -H 'Content-Type: application/json' \
  -d "{\"apiKey\":\"$KEY\",\"apiSecret\":\"$SECRET\"}" | .venv/bin/python -c "import sys,json;print(json.load(sys.stdin)['accessToken'])")
export OMS_BENCH_TOKEN

# CPU ticks (user + system) of the database's backends and of the server's processes.
ticks() {
  local pattern total=0
  for pattern in "postgres: " "oms serve"; do
    total=0
    for pid in $(pgrep -f "$pattern"); do total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0))); done
    echo -n "$total "
  done
  echo
}
read -r DB0 API0 < <(ticks)
RESULT=$(OMS_BENCH_HOT=$HOT wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s bench/transfers.lua "http://127.0.0.1:$PORT" | grep RESULT)
read -r DB1 API1 < <(ticks)
EXECUTED=$(sed -E 's/.*executed=([0-9]+).*/\1/' <<<"$RESULT")
HZ=$(getconf CLK_TCK)
echo "$RESULT"
awk -v db=$((DB1 - DB0)) -v api=$((API1 - API0)) -v n="$EXECUTED" -v hz="$HZ" \
  'BEGIN { printf "cpu_ms_per_pair database=%.2f api=%.2f\n", db * 1000 / hz / n, api * 1000 / hz / n }'
