#!/usr/bin/env bash
# Quote + execute throughput with a typical policy set on, against the same benchmark without policies, in
# alternating runs on one dataset (issue 15's measure). The set: a per-transaction limit, a daily limit per wallet
# (high enough never to be reached) and a deny-list of 10,000 addresses, one policy of the benchmark's tenant,
# created before each "on" run and disabled after it (`oms policies create` / `disable`, audited as the OS user).
# Needs the dataset of an earlier `bench/run.sh`. Usage: bash bench/policies.sh [rounds] [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
DURATION=${2:-15}
CONNECTIONS=${3:-32}
OUT=bench/results
[ -f "$OUT/dataset.json" ] || { echo "bench: run bench/run.sh once first (it makes the dataset)"; exit 2; }
TENANT=$(.venv/bin/python -c "import json; print(json.load(open('$OUT/dataset.json'))['tenant'])")
POLICY="$OUT/policy.json"
.venv/bin/python - "$POLICY" <<'PY'
import json, secrets, sys
rules = {
    "maxAmountPerTransaction": "100.00",
    "limits": [{"per": "wallet", "window": "day", "maxCount": 100000000, "maxAmount": "1000000.00"}],
    "denyList": ["0x" + secrets.token_hex(20) for _ in range(10_000)],
}
json.dump({"name": "bench: typical set", "rules": rules}, open(sys.argv[1], "w"))
PY
# shellcheck disable=SC1091
source "$OUT/env.sh"
for round in $(seq 1 "$ROUNDS"); do
  echo "round $round, no policy: $(bash bench/transfers.sh "$DURATION" "$CONNECTIONS" | tr '\n' ' ')"
  ID=$(.venv/bin/oms policies create "$TENANT" "$POLICY" | .venv/bin/python -c "import json,sys; print(json.load(sys.stdin)['id'])")
  echo "round $round, policies on: $(bash bench/transfers.sh "$DURATION" "$CONNECTIONS" | tr '\n' ' ')"
  .venv/bin/oms policies disable "$TENANT" "$ID" >/dev/null
done
