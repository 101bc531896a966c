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
# shellcheck source=bench/common.sh
source bench/common.sh
refuse_busy_port
use_dataset
settle
start_server "$OUT/transfers-serve.log"

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
