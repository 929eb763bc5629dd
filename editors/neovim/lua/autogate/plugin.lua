-- Defines :Autogate and the statusline refresh, once. Called by plugin/autogate.lua at startup,
-- and by setup() for plugin managers that add this directory to 'runtimepath' after startup.

local M = {}

function M.load()
  if vim.g.loaded_autogate then
    return
  end
  vim.g.loaded_autogate = true

  vim.api.nvim_create_user_command('Autogate', function(opts)
    require('autogate.commands').run(opts)
  end, {
    nargs = '*',
    range = true,
    desc = 'autogate: run, pending, approve, reject, diff, rollback, log, mode',
    complete = function(arglead, cmdline, cursorpos)
      return require('autogate.commands').complete(arglead, cmdline, cursorpos)
    end,
  })

  local group = vim.api.nvim_create_augroup('autogate', { clear = true })
  vim.api.nvim_create_autocmd('DiagnosticChanged', {
    group = group,
    desc = 'autogate: keep the pending count current',
    callback = function()
      local state = require('autogate.state')
      local before = table.concat(state.pending_ids(), ',')
      state.refresh_pending()
      if table.concat(state.pending_ids(), ',') ~= before then
        state.changed()
      end
    end,
  })
end

return M
