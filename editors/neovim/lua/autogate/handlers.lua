-- Per-client handlers for the autogate server (`vim.lsp.Config.handlers`).
--
-- `window/showDocument` of a change's diff (the server writes it to a temp file named
-- `autogate-diffs-<pid>/change-<id>.diff`) opens in the diff float instead of a window.
-- `window/logMessage` tells the mode and environment the server started in.
-- `window/showMessage` goes to `vim.notify`.

local M = {}

M['window/showDocument'] = function(err, params, ctx, config)
  local ok, path = pcall(vim.uri_to_fname, params.uri)
  local id = ok and path:match('autogate%-diffs%-%d+[/\\]change%-(.+)%.diff$') or nil
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

M['window/logMessage'] = function(err, params, ctx, config)
  if params and type(params.message) == 'string' then
    require('autogate.state').on_log(ctx.client_id, params.message)
  end
  return vim.lsp.handlers['window/logMessage'](err, params, ctx, config)
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

return M
