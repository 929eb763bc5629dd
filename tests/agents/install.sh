#!/usr/bin/env bash
# Installs the pinned coding-agent CLIs from the npm registry into tests/agents/.deps/.
# Idempotent: a package already installed at its pinned version is not fetched again.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
deps="$here/.deps"
pins=(
  "@anthropic-ai/claude-code@2.1.328"
  "@openai/codex@0.169.0"
  "@google/gemini-cli@0.61.0"
  "@github/copilot@1.0.102"
)

mkdir -p "$deps"
[ -f "$deps/package.json" ] || echo '{"name":"autogate-agent-deps","private":true}' >"$deps/package.json"

missing=()
for pin in "${pins[@]}"; do
  name="${pin%@*}"
  version="${pin##*@}"
  manifest="$deps/node_modules/$name/package.json"
  have=""
  if [ -f "$manifest" ]; then
    have="$(node -e 'process.stdout.write(require(process.argv[1]).version)' "$manifest")"
  fi
  if [ "$have" = "$version" ]; then
    echo "ok      $name $version (already installed)"
  else
    echo "install $name $version${have:+ (found $have)}"
    missing+=("$pin")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  start=$(date +%s)
  npm install --prefix "$deps" --no-audit --no-fund --loglevel=error "${missing[@]}"
  echo "npm install took $(( $(date +%s) - start )) s"
fi

echo "binaries in $deps/node_modules/.bin:"
for bin in claude codex gemini copilot; do
  if [ -x "$deps/node_modules/.bin/$bin" ]; then
    echo "  $bin"
  else
    echo "  $bin MISSING" >&2
    exit 1
  fi
done
# Copilot CLI unpacks its package on first run; run.py points XDG_CACHE_HOME here for it.
if [ ! -d "$deps/cache/copilot/pkg" ]; then
  warm_home="$(mktemp -d)"
  HOME="$warm_home" XDG_CACHE_HOME="$deps/cache" COPILOT_AUTO_UPDATE=false \
    "$deps/node_modules/.bin/copilot" --version >/dev/null </dev/null
  rm -rf "$warm_home"
  echo "unpacked Copilot CLI's package into $deps/cache"
fi
echo "disk: $(du -sh "$deps" | cut -f1)"
