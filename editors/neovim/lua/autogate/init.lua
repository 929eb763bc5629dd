-- autogate for Neovim: setup, the statusline component and the command API.
--
--   require('autogate').setup({ cmd = { 'autogate' }, mode = 'auto' })
--   vim.o.statusline = '%f %= %{v:lua.require("autogate").statusline()}'

local M = {}

local config = require('autogate.config')

--- Configures the `autogate` LSP client (`vim.lsp.config`) and enables it (`vim.lsp.enable`).
---@param opts? autogate.Options
function M.setup(opts)
  opts = opts or {}
  vim.validate('opts.cmd', opts.cmd, { 'string', 'table' }, true)
  vim.validate('opts.mode', opts.mode, function(m)
    return m == nil or vim.list_contains(config.modes, m)
  end, 'one of auto, ask, plan')
  config.options = vim.deepcopy(opts)
  require('autogate.plugin').load()
  local lsp = {}
  if opts.cmd then
    lsp.cmd = config.cmd()
  end
  if opts.mode then
    lsp.init_options = { mode = opts.mode }
  end
  vim.lsp.config('autogate', lsp)
  if opts.enable ~= false then
    vim.lsp.enable('autogate')
  end
end

--- `autogate:auto 2⏳`: the mode and the pending count; an empty string without a server.
---@return string
function M.statusline()
  return require('autogate.state').statusline()
end

--- Runs an `:Autogate` subcommand, as if typed: `require('autogate').command('mode', 'plan')`.
---@param sub string
---@param ... string
function M.command(sub, ...)
  require('autogate.commands').run({ fargs = { sub, ... }, range = 0 })
end

return M
