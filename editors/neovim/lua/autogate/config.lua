-- Options given to `setup()`, and what the LSP configuration derives from them.

local M = {}

---@class autogate.Options
---@field cmd? string|string[] The server command (default: `vim.g.autogate_cmd`, else `autogate`).
---@field mode? 'auto'|'ask'|'plan' The mode the server starts in (`init_options.mode`).
---@field enable? boolean Call `vim.lsp.enable('autogate')` (default true).

---@type autogate.Options
M.options = {}

M.modes = { 'auto', 'ask', 'plan' }

---@return string[]
function M.cmd()
  local cmd = M.options.cmd or vim.g.autogate_cmd or 'autogate'
  if type(cmd) == 'string' then
    cmd = { cmd }
  end
  return vim.deepcopy(cmd)
end

---@return table
function M.init_options()
  local mode = M.options.mode or vim.g.autogate_mode
  return mode and { mode = mode } or vim.empty_dict()
end

return M
