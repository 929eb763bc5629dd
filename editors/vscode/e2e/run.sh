#!/usr/bin/env bash
# End-to-end test of the extension in a real VS Code (code-server 4.100.3), driven by Playwright
# with Debian's Chromium. Usage: e2e/run.sh <autogate-binary>
# Installs what it needs, idempotently, into editors/vscode/.e2e/ (gitignored). Offline except
# for the apt and npm registries. Prints "N passed, M failed" and exits non-zero on failure.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 <autogate-binary>" >&2
  exit 2
fi
SERVER=$(readlink -f "$1")
[[ -x "$SERVER" ]] || { echo "e2e: $1 is not an executable autogate binary (cargo build -p autogate)" >&2; exit 2; }

HERE=$(cd "$(dirname "$0")/.." && pwd)     # editors/vscode
E2E="$HERE/.e2e"
CODE_SERVER_VERSION=4.100.3
PLAYWRIGHT_VERSION=1.65.1
ARTIFACTS="$HERE/e2e/artifacts"
mkdir -p "$E2E" "$ARTIFACTS"
t0=$(date +%s)
log() { echo "e2e [$(( $(date +%s) - t0 ))s] $*"; }

# 1. System packages (recipe A): native build deps of code-server, ripgrep, chromium.
need_apt=()
for pkg in libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev ripgrep chromium; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [[ ${#need_apt[@]} -gt 0 ]]; then
  log "apt-get install ${need_apt[*]}"
  SUDO=; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends "${need_apt[@]}"
fi

# 2. code-server and playwright-core, into .e2e/ (skipped when already there).
installed=$("$E2E/node_modules/.bin/code-server" --version 2>/dev/null | head -n1 | cut -d' ' -f1 || true)
if [[ "$installed" != "$CODE_SERVER_VERSION" || ! -d "$E2E/node_modules/playwright-core" ]]; then
  log "installing code-server@$CODE_SERVER_VERSION and playwright-core@$PLAYWRIGHT_VERSION into $E2E"
  # code-server's postinstall downloads ripgrep from GitHub: serve it from the cache instead.
  T=$(node -e 'console.log(require("os").tmpdir())')
  mkdir -p "$T/vscode-ripgrep-cache-1.15.11"
  tar czf "$T/vscode-ripgrep-cache-1.15.11/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$(dirname "$(command -v rg)")" rg
  [[ -f "$E2E/package.json" ]] || echo '{ "name": "autogate-e2e", "private": true }' > "$E2E/package.json"
  # code-server builds native modules in its install scripts, and runs npm again inside itself.
  (cd "$E2E" && npm_config_dangerously_allow_all_scripts=true npm_config_yes=true npm_config_unsafe_perm=true \
     npm install "code-server@$CODE_SERVER_VERSION" "playwright-core@$PLAYWRIGHT_VERSION" --foreground-scripts --no-audit --no-fund)
fi
CODE_SERVER="$E2E/node_modules/.bin/code-server"

# 3. The extension, packaged.
if [[ ! -d "$HERE/node_modules" ]]; then
  log "npm ci"
  (cd "$HERE" && npm ci --no-audit --no-fund)
fi
log "packaging the extension"
(cd "$HERE" && npm run --silent package >/dev/null)

# 4. A throwaway home, profile, extensions dir and workspace (not a git repo: "development").
RUN=$(mktemp -d /tmp/autogate-e2e.XXXXXX)
SERVER_PID=
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [[ "${KEEP:-0}" != 1 ]]; then rm -rf "$RUN"; fi
}
trap cleanup EXIT
export HOME="$RUN/home" XDG_CONFIG_HOME="$RUN/home/.config" XDG_CACHE_HOME="$RUN/home/.cache" XDG_DATA_HOME="$RUN/home/.local/share"
mkdir -p "$HOME" "$RUN/ud/User" "$RUN/ext" "$RUN/ws/src"
WS="$RUN/ws"
printf '[package]\nname = "demo"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n' > "$WS/Cargo.toml"
cat > "$WS/src/lib.rs" <<'RS'
/// Adds two numbers.
pub fn add(a: i32, b: i32) -> i32 {
    a + b
}

fn helper() -> i32 {
    41
}

pub fn answer() -> i32 {
    helper() + 1
}
RS
PROPOSAL="$RUN/proposal.json"
cat > "$RUN/ud/User/settings.json" <<JSON
{
  "autogate.server.path": "$SERVER",
  "autogate.test.proposalFile": "$PROPOSAL",
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "workbench.enableExperiments": false,
  "extensions.ignoreRecommendations": true,
  "security.workspace.trust.enabled": false,
  "telemetry.telemetryLevel": "off",
  "update.mode": "none",
  "window.restoreWindows": "none",
  "chat.commandCenter.enabled": false,
  "workbench.colorTheme": "Default Light Modern"
}
JSON
printf 'bind-addr: 127.0.0.1:0\nauth: none\ncert: false\n' > "$RUN/cfg.yaml"

log "installing the .vsix"
"$CODE_SERVER" --config "$RUN/cfg.yaml" --user-data-dir "$RUN/ud" --extensions-dir "$RUN/ext" \
  --install-extension "$HERE/autogate.vsix" >"$RUN/install.log" 2>&1 || { cat "$RUN/install.log"; exit 1; }

PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
log "starting code-server on 127.0.0.1:$PORT"
AUTOGATE_LOG=${AUTOGATE_LOG:-info} "$CODE_SERVER" --config "$RUN/cfg.yaml" --bind-addr "127.0.0.1:$PORT" --auth none \
  --user-data-dir "$RUN/ud" --extensions-dir "$RUN/ext" --disable-telemetry --disable-update-check \
  --disable-workspace-trust "$WS" >"$ARTIFACTS/code-server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done

log "driving the workbench"
status=0
URL="http://127.0.0.1:$PORT/?folder=$WS" WS="$WS" PROPOSAL="$PROPOSAL" ARTIFACTS="$ARTIFACTS" SETTINGS="$RUN/ud/User/settings.json" \
  PLAYWRIGHT_CORE="$E2E/node_modules/playwright-core" \
  node "$HERE/e2e/drive.cjs" || status=$?
# The extension host's log, where the extension and the server write.
find "$RUN/ud/logs" -name '*autogate*' -exec cp {} "$ARTIFACTS/" \; 2>/dev/null || true
log "done (exit $status)"
exit "$status"
