#!/usr/bin/env bash
# The extension's CI steps, from a fresh checkout: install, type-check, lint, unit tests, package.
# With an autogate binary as argument, also the end-to-end test in code-server.
# Usage: editors/vscode/ci.sh [<autogate-binary>]
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
npm run typecheck
npm run lint
npm test
npm run package
if [[ $# -ge 1 ]]; then
  e2e/run.sh "$1"
fi
