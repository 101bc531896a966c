#!/usr/bin/env bash
# The balance read alone, for comparing two versions of the server in alternating runs on one dataset. Needs the
# dataset of an earlier `bench/run.sh`. Usage: bash bench/balance.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
CONNECTIONS=${2:-32}
URL=${OMS_BENCH_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}
PORT=${OMS_BENCH_PORT:-8097}
OUT=bench/results
# shellcheck source=bench/common.sh
source bench/common.sh
refuse_busy_port
use_dataset
settle
start_server "$OUT/balance-serve.log"
wrk -t1 -c"$CONNECTIONS" -d3s -s bench/balance.lua "http://127.0.0.1:$PORT" >/dev/null  # warm-up
wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s bench/balance.lua "http://127.0.0.1:$PORT" | grep RESULT
