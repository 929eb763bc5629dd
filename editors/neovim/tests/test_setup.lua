-- setup{ mode = ... } reaches the server as init_options; vim.g.autogate_cmd is honoured.

T.write({ ['src/lib.rs'] = 'fn main() {}\n' })
-- As a plugin manager that puts the plugin on 'runtimepath' after startup: plugin/ not sourced.
vim.api.nvim_del_user_command('Autogate')
vim.api.nvim_del_augroup_by_name('autogate')
vim.g.loaded_autogate = nil
vim.g.autogate_cmd = T.bin
require('autogate').setup({ mode = 'plan' })

T.case('setup{ mode = "plan" } starts the server in plan mode', function()
  local bufnr = T.open('src/lib.rs')
  local client = T.client()
  T.eq({ T.bin }, client.config.cmd, 'cmd from vim.g.autogate_cmd')
  T.eq({ mode = 'plan' }, client.config.init_options, 'init_options')
  T.statusline('autogate:plan')
  local summary = T.propose(T.edit('src/lib.rs', 0, 0, 0, 0, '// x\n'))
  T.eq('planned', summary.changes[1].status, 'status')
  T.eq('fn main() {}\n', T.text(bufnr), 'buffer')
end)

T.case('setup() defines :Autogate when plugin/ was not sourced', function()
  T.eq(2, vim.fn.exists(':Autogate'), ':Autogate')
  T.truthy(#vim.api.nvim_get_autocmds({ group = 'autogate', event = 'DiagnosticChanged' }) == 1, 'autocmd')
end)

T.case('setup rejects a bad mode with a clear error', function()
  local ok, err = pcall(require('autogate').setup, { mode = 'yolo', enable = false })
  T.eq(false, ok, 'setup fails')
  T.contains(tostring(err), 'one of auto, ask, plan', 'error')
end)
