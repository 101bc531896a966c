#!/usr/bin/env bash
# Rebuild contracts/build/TestUSDC.json from contracts/TestUSDC.sol with the
# pinned npm `solc` (solcjs), installed on demand into .tools/npm/solc.
#
#   bash contracts/build.sh           # rebuild the artifact (deterministic)
#   bash contracts/build.sh --check   # fail if the committed artifact is stale
set -euo pipefail

SOLC_VERSION="0.8.37"   # keep in sync with tools/npm/solc/package.json and build.mjs

die() { echo "build: error: $*" >&2; exit 1; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MANIFEST_DIR="$ROOT/tools/npm/solc"
PREFIX="$ROOT/.tools/npm/solc"
SOLC_PKG="$PREFIX/node_modules/solc/package.json"

command -v node >/dev/null 2>&1 || die "node not found on PATH (Node.js >= 20 is required)"

installed_version() {
    [ -f "$SOLC_PKG" ] && node -p "require(process.argv[1]).version" "$SOLC_PKG" 2>/dev/null
}

if [ "$(installed_version || true)" != "$SOLC_VERSION" ]; then
    command -v npm >/dev/null 2>&1 || die "npm not found on PATH"
    echo "build: installing solc@$SOLC_VERSION into $PREFIX" >&2
    mkdir -p "$PREFIX"
    cp "$MANIFEST_DIR/package.json" "$MANIFEST_DIR/package-lock.json" "$PREFIX/"
    (cd "$PREFIX" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2) \
        || die "npm ci failed in $PREFIX (is the npm registry reachable?)"
    [ "$(installed_version || true)" = "$SOLC_VERSION" ] || die "solc $SOLC_VERSION not installed correctly in $PREFIX"
fi

SOLC_MODULE="$PREFIX/node_modules/solc" exec node "$ROOT/contracts/build.mjs" "$@"
