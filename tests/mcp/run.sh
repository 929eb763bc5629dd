#!/usr/bin/env bash
# Runs sdk_client.py (the official Python MCP SDK client against `BIN mcp`). Creates the venv
# .venv-mcp at the repository root and installs the `mcp` package into it on first use.
# Usage: tests/mcp/run.sh BIN
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="$repo/.venv-mcp"
if [ "$#" -ne 1 ]; then
  echo "usage: $0 BIN (the autogate binary)" >&2
  exit 2
fi
bin="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import mcp' 2>/dev/null; then
  echo "creating $venv with the mcp package"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "mcp==2.3.0"
fi
exec "$venv/bin/python" "$here/sdk_client.py" "$bin"
