#!/usr/bin/env bash
# Install the pinned `anvil` (Foundry's local Ethereum dev node) into .tools/
# at the repository root, from the npm package @foundry-rs/anvil-linux-amd64.
#
#   bash tools/install-anvil.sh        # prints the absolute path of the binary
#
# Idempotent: if .tools/bin/anvil already reports the pinned version it exits
# at once. The exact version and integrity hash are pinned by
# tools/npm/anvil/package.json + package-lock.json (installed with `npm ci`).
set -euo pipefail

ANVIL_VERSION="1.7.1"   # keep in sync with tools/npm/anvil/package.json

die() { echo "install-anvil: error: $*" >&2; exit 1; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MANIFEST_DIR="$ROOT/tools/npm/anvil"
PREFIX="$ROOT/.tools/npm/anvil"
BIN_DIR="$ROOT/.tools/bin"
TARGET="$BIN_DIR/anvil"

installed_ok() {
    [ -x "$TARGET" ] || return 1
    local out
    out="$("$TARGET" --version 2>/dev/null)" || return 1
    case "$out" in
        *"anvil Version: $ANVIL_VERSION"*) return 0 ;;
        *) return 1 ;;
    esac
}

if installed_ok; then
    echo "$TARGET"
    exit 0
fi

os="$(uname -s)"; arch="$(uname -m)"
if [ "$os" != "Linux" ] || { [ "$arch" != "x86_64" ] && [ "$arch" != "amd64" ]; }; then
    die "only Linux x86_64 is supported by this script (the npm package is @foundry-rs/anvil-linux-amd64); this machine is $os/$arch. Install anvil $ANVIL_VERSION yourself and put it at $TARGET."
fi
command -v npm >/dev/null 2>&1 || die "npm not found on PATH (Node.js >= 20 with npm is required)"
[ -f "$MANIFEST_DIR/package.json" ] && [ -f "$MANIFEST_DIR/package-lock.json" ] \
    || die "missing $MANIFEST_DIR/package.json or package-lock.json"

echo "install-anvil: installing @foundry-rs/anvil-linux-amd64@$ANVIL_VERSION into $PREFIX" >&2
mkdir -p "$PREFIX" "$BIN_DIR"
cp "$MANIFEST_DIR/package.json" "$MANIFEST_DIR/package-lock.json" "$PREFIX/"
if ! (cd "$PREFIX" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2); then
    die "npm ci failed in $PREFIX (is the npm registry reachable?)"
fi

SRC="$PREFIX/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
[ -f "$SRC" ] || die "package installed but $SRC is missing (package layout changed?)"
chmod +x "$SRC"
# relative link, so the checkout can be moved
ln -sfn "../npm/anvil/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil" "$TARGET"

installed_ok || die "$TARGET does not run or is not version $ANVIL_VERSION: $("$TARGET" --version 2>&1 | head -n 3)"
echo "$TARGET"
