#!/usr/bin/env bash
# Runs the Neovim plugin tests in real headless Neovim against the real autogate binary.
#   bash editors/neovim/tests/run.sh path/to/autogate path/to/nvim [name-filter]
# Prints one line per case and ends with exactly "N passed, M failed"; exits non-zero on failure.
set -uo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 <autogate binary> <nvim binary> [filter]" >&2
  exit 2
fi
resolve() { if [ -x "$1" ]; then realpath "$1"; else command -v "$1"; fi; }
autogate=$(resolve "$1") || { echo "autogate binary not found: $1" >&2; exit 2; }
nvim=$(resolve "$2") || { echo "nvim not found: $2" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/autogate-nvim-tests.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# Hermetic: no user config, data, state or git identity leaks in.
mkdir -p "$tmp/home"
export HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" XDG_DATA_HOME="$tmp/home/.local/share" \
  XDG_STATE_HOME="$tmp/home/.local/state" XDG_CACHE_HOME="$tmp/home/.cache" \
  GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
unset AUTOGATE_ENV NVIM NVIM_LOG_FILE VIMINIT
export AUTOGATE_LOG="${AUTOGATE_LOG:-warn}"

"$nvim" --headless --clean -u NONE -l "$here/run.lua" "$autogate" "$nvim" "$tmp" "${3:-}"
