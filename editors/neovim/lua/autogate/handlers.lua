-- Per-client handlers for the autogate server (`vim.lsp.Config.handlers`).
--
-- `window/showDocument` of a change's diff (the server writes it to a temp file named
-- `autogate-diffs-<random>/change-<id>.diff`, private to its owner) opens in the diff float instead of a window.
-- `window/logMessage` tells the mode and environment the server started in.
-- `window/showMessage` goes to `vim.notify`.
-- `window/showMessageRequest` (the approval prompt) waits while the diff float is open: after
-- "Show diff" the server asks again, and the prompt comes back once the diff is closed.
-- `workspace/applyEdit` works around an insertion at the end of a buffer (see below).

local M = {}

M['window/showDocument'] = function(err, params, ctx, config)
  local ok, path = pcall(vim.uri_to_fname, params.uri)
  local id = ok and path:match('autogate%-diffs%-[%w_]+[/\\]change%-(.+)%.diff$') or nil
  if id and not params.external then
    local file = io.open(path, 'r')
    if file then
      local text = file:read('*a')
      file:close()
      require('autogate.ui').open_diff(id, text)
      return { success = true }
    end
  end
  return vim.lsp.handlers['window/showDocument'](err, params, ctx, config)
end

M['window/showMessageRequest'] = function(err, params, ctx, config)
  local co, is_main = coroutine.running()
  local ui = require('autogate.ui')
  if co and not is_main and ui.diff_open() then
    ui.after_diff(function()
      coroutine.resume(co)
    end)
    coroutine.yield()
  end
  return vim.lsp.handlers['window/showMessageRequest'](err, params, ctx, config)
end

M['window/logMessage'] = function(err, params, ctx, config)
  if params and type(params.message) == 'string' then
    require('autogate.state').on_log(ctx.client_id, params.message)
  end
  return vim.lsp.handlers['window/logMessage'](err, params, ctx, config)
end

---@param uri string
---@return integer? bufnr of the loaded buffer showing `uri`
local function loaded_buffer(uri)
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.uri_from_bufnr(bufnr) == uri then
      return bufnr
    end
  end
end

--- Neovim 0.11's apply_text_edits turns an insertion at line == line count (just after the
--- final newline) of "text\n" into "text\n" plus an empty line. The same insertion expressed at
--- the end of the last line ("\ntext") gives exactly the text the server approved.
---@param uri string
---@param edits lsp.TextEdit[]
---@param encoding string
local function fix_end_of_buffer_inserts(uri, edits, encoding)
  local bufnr = loaded_buffer(uri)
  if not bufnr or not (vim.bo[bufnr].eol or vim.bo[bufnr].fixeol) then
    return
  end
  local count = vim.api.nvim_buf_line_count(bufnr)
  local last = vim.api.nvim_buf_get_lines(bufnr, count - 1, count, false)[1] or ''
  for _, edit in ipairs(edits) do
    local r = edit.range
    if
      r
      and r.start.line == count
      and r['end'].line == count
      and r.start.character == 0
      and r['end'].character == 0
      and type(edit.newText) == 'string'
      and edit.newText:sub(-1) == '\n'
    then
      local col = vim.str_utfindex(last, encoding)
      edit.range = {
        start = { line = count - 1, character = col },
        ['end'] = { line = count - 1, character = col },
      }
      edit.newText = '\n' .. edit.newText:sub(1, -2)
    end
  end
end

M['workspace/applyEdit'] = function(err, params, ctx, config)
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  local encoding = client and client.offset_encoding or 'utf-16'
  if params and type(params.edit) == 'table' then
    params = vim.deepcopy(params)
    for _, change in ipairs(params.edit.documentChanges or {}) do
      if change.textDocument and change.edits then
        fix_end_of_buffer_inserts(change.textDocument.uri, change.edits, encoding)
      end
    end
    for uri, edits in pairs(params.edit.changes or {}) do
      fix_end_of_buffer_inserts(uri, edits, encoding)
    end
  end
  return vim.lsp.handlers['workspace/applyEdit'](err, params, ctx, config)
end

local LEVELS = {
  [1] = vim.log.levels.ERROR,
  [2] = vim.log.levels.WARN,
  [3] = vim.log.levels.INFO,
  [4] = vim.log.levels.DEBUG,
}

--- The headline after each proposal (and approval outcomes) go through `vim.notify`, so they
--- reach notification plugins; the statusline is refreshed with them.
M['window/showMessage'] = function(_, params, ctx)
  if params and type(params.message) == 'string' then
    vim.notify(params.message, LEVELS[params.type] or vim.log.levels.INFO, { title = 'autogate' })
  end
  require('autogate.state').changed()
  return params
end

--- Before the policy's verification commands run, the server asks us to save the buffers it
--- changed, so the commands see what the buffer shows. Unmodified buffers are left alone.
M[require('autogate.protocol').save_documents] = function(_, params)
  for _, uri in ipairs((params or {}).uris or {}) do
    local bufnr = vim.uri_to_bufnr(uri)
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.bo[bufnr].modified then
      vim.api.nvim_buf_call(bufnr, function()
        vim.cmd('silent noautocmd update')
      end)
    end
  end
  return {}
end

return M
