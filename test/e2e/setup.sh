#!/usr/bin/env bash
# Set-up for the end-to-end test (test/e2e/run.ts): Debian's chromium (driven by playwright-core), ripgrep and
# libkrb5-dev (code-server's native modules), and code-server 4.100.3 (the real VS Code workbench, runs on Node 20)
# installed from npm into a cache folder outside node_modules. Safe to re-run: it skips whatever is already there.
# code-server's @vscode/ripgrep postinstall would download rg from GitHub; we pre-seed its cache with Debian's rg so
# the install needs only the npm registry.
set -euo pipefail

CS_VERSION=4.100.3
CACHE="${TINYMEM_E2E_CACHE:-$HOME/.cache/tinymem-e2e}"
CS_DIR="$CACHE/code-server-$CS_VERSION"
CS_BIN="$CS_DIR/node_modules/.bin/code-server"

say() { echo "[e2e setup] $*"; }
# shellcheck source=test/aptInstall.sh
. "$(dirname "$0")/../aptInstall.sh"

need_apt=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need_apt+=(chromium)
command -v rg >/dev/null 2>&1 || need_apt+=(ripgrep)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  apt_install "${need_apt[@]}"
else
  say "Debian packages present (chromium, ripgrep, libkrb5-dev)"
fi

if [ -x "$CS_BIN" ] && [ -f "$CS_DIR/.installed" ]; then
  say "code-server $CS_VERSION present in $CS_DIR"
  exit 0
fi

say "installing code-server@$CS_VERSION into $CS_DIR (about 1.5 min, ~300 MB)"
# The ripgrep cache trick: @vscode/ripgrep looks for this archive in $TMPDIR/vscode-ripgrep-cache-<version>/.
TMP_RG="${TMPDIR:-/tmp}"
RG_CACHE="$TMP_RG/vscode-ripgrep-cache-1.15.11"
mkdir -p "$RG_CACHE"
RG_STAGE="$(mktemp -d)"
cp "$(command -v rg)" "$RG_STAGE/rg"
tar -czf "$RG_CACHE/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$RG_STAGE" rg
rm -rf "$RG_STAGE"

# --dangerously-allow-all-scripts: npm >= 11.19 blocks dependency install scripts by default, and code-server's
# postinstall is what makes it runnable; older npm ignores the flag. One retry: a 300 MB install can hit a transient
# registry or disk hiccup.
install_code_server() {
  rm -rf "$CS_DIR" && mkdir -p "$CS_DIR" && cd "$CS_DIR" &&
    echo '{ "name": "tinymem-e2e-code-server", "private": true }' > package.json &&
    npm_config_yes=true npm install --no-audit --no-fund --no-save --unsafe-perm \
      --dangerously-allow-all-scripts "code-server@$CS_VERSION"
}
install_code_server || { say "code-server install failed; retrying once"; sleep 5; install_code_server; }
[ -x "$CS_BIN" ] || { say "code-server binary missing after install: $CS_BIN"; exit 1; }
"$CS_BIN" --config "$CS_DIR/config.yaml" --version
touch "$CS_DIR/.installed"
say "done"
