-- What the plugin knows about each autogate client: its mode, its environment and the pending
-- changes (from the server's diagnostics, which it keeps current). Feeds the statusline.

local M = {}

---@class autogate.ClientState
---@field mode string
---@field mode_told? boolean a command's answer named the mode: the startup line no longer counts
---@field environment? string
---@field hashes? table<string, string> content hash of each change whose diff was shown

---@type table<integer, autogate.ClientState>
local clients = {}

--- Pending change ids, from the diagnostics autogate publishes (code `change-<id>`).
---@type string[]
local pending_ids = {}

---@param client vim.lsp.Client
function M.on_init(client)
  local opts = client.config.init_options
  local mode = type(opts) == 'table' and opts.mode or nil
  clients[client.id] = { mode = mode or 'auto' }
  M.changed()
end

---@param client_id integer
function M.on_exit(client_id)
  clients[client_id] = nil
  M.changed()
end

---@param client_id integer
---@return autogate.ClientState
function M.get(client_id)
  clients[client_id] = clients[client_id] or { mode = 'auto' }
  return clients[client_id]
end

---@param client_id integer
---@param mode string
function M.set_mode(client_id, mode)
  local s = M.get(client_id)
  s.mode, s.mode_told = mode, true
  M.changed()
end

--- Remembers the content hash of a change whose diff the person saw.
---@param client_id integer
---@param id string
---@param hash string
function M.saw(client_id, id, hash)
  local s = M.get(client_id)
  s.hashes = s.hashes or {}
  s.hashes[id] = hash
end

---@param client_id integer
---@param id string
---@return string?
function M.seen(client_id, id)
  local hashes = M.get(client_id).hashes
  return hashes and hashes[id]
end

--- Reads `autogate: <mode> mode, <environment> (<why>)`, the server's first log message. The
--- server serves requests while it sends that line, so an answer to `:Autogate mode` can come
--- first: the mode it named is newer, and the line does not undo it.
---@param client_id integer
---@param message string
function M.on_log(client_id, message)
  local mode, env = message:match('^autogate: (%a+) mode, (%a+)')
  if mode then
    local s = M.get(client_id)
    s.environment = env
    if not s.mode_told then
      s.mode = mode
    end
    M.changed()
  end
end

--- Recomputes the pending ids from the diagnostics.
function M.refresh_pending()
  local seen, ids = {}, {}
  local diagnostics = {}
  for _, client in ipairs(vim.lsp.get_clients({ name = 'autogate' })) do
    local namespace = vim.lsp.diagnostic.get_namespace(client.id)
    vim.list_extend(diagnostics, vim.diagnostic.get(nil, { namespace = namespace }))
  end
  for _, d in ipairs(diagnostics) do
    local code = d.code and tostring(d.code) or ''
    local id = d.source == 'autogate' and code:match('^change%-(.+)$') or nil
    if id and not seen[id] then
      seen[id] = true
      ids[#ids + 1] = id
    end
  end
  table.sort(ids, function(a, b)
    local na, nb = tonumber(a), tonumber(b)
    if na and nb then
      return na < nb
    end
    return a < b
  end)
  pending_ids = ids
end

---@return string[]
function M.pending_ids()
  return vim.deepcopy(pending_ids)
end

--- Redraws the statuslines and fires `User AutogateStatus`, for statusline plugins.
function M.changed()
  vim.schedule(function()
    pcall(vim.cmd.redrawstatus, { bang = true })
    pcall(vim.api.nvim_exec_autocmds, 'User', { pattern = 'AutogateStatus', modeline = false })
  end)
end

--- The autogate client for a buffer: the one attached to it, else any running one.
---@param bufnr? integer
---@return vim.lsp.Client?
function M.client(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  return vim.lsp.get_clients({ name = 'autogate', bufnr = bufnr })[1]
    or vim.lsp.get_clients({ name = 'autogate' })[1]
end

--- `autogate:auto 2⏳`: the mode and the number of pending changes; '' without a server.
---@return string
function M.statusline()
  local client = M.client()
  if not client then
    return ''
  end
  local text = 'autogate:' .. M.get(client.id).mode
  if #pending_ids > 0 then
    text = text .. ' ' .. #pending_ids .. '⏳'
  end
  return text
end

return M
