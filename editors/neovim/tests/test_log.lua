-- :Autogate log with a CLI that has `log` (a wrapper around the real binary stands in for it).

T.write({ ['src/lib.rs'] = 'fn main() {}\n' })
local wrapper = vim.fs.joinpath(T.ws, '..', 'autogate-with-log')
vim.fn.writefile({
  '#!/bin/sh',
  'if [ "$1" = log ]; then echo "1 2026-01-01T00:00:00Z change 1 Cargo.toml high approved by person"; exit 0; fi',
  'exec "' .. T.bin .. '" "$@"',
}, wrapper)
vim.fn.setfperm(wrapper, 'rwxr-xr-x')
require('autogate').setup({ cmd = { wrapper } })

T.case(':Autogate log shows `autogate log` in a scratch window', function()
  T.open('src/lib.rs')
  T.client()
  T.cmd('Autogate log')
  T.wait(function()
    return vim.api.nvim_buf_get_name(0):find('autogate://log', 1, true) ~= nil
  end, 'the log window')
  T.eq({ '1 2026-01-01T00:00:00Z change 1 Cargo.toml high approved by person' }, vim.api.nvim_buf_get_lines(0, 0, -1, false), 'lines')
  T.eq('nofile', vim.bo.buftype, 'scratch')
  T.cmd('close')
end)
