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
  vim.api.nvim_create_autocmd({ 'BufReadPost', 'BufNewFile' }, {
    group = group,
    desc = 'autogate: attach to files without a filetype too',
    callback = function(ev)
      -- After filetype detection: vim.lsp.enable() handles every buffer that has one.
      vim.schedule(function()
        M.attach_without_filetype(ev.buf)
      end)
    end,
  })
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

--- vim.lsp.enable() starts clients on FileType, which never fires for files without a filetype
--- (LICENSE, notes, ...). autogate gates edits to every file, so it attaches to those as well,
--- when it is enabled for all filetypes. Open buffers get their edits through the editor;
--- the server writes only closed files.
---@param bufnr integer
function M.attach_without_filetype(bufnr)
  if
    not vim.api.nvim_buf_is_valid(bufnr)
    or not vim.api.nvim_buf_is_loaded(bufnr)
    or vim.bo[bufnr].filetype ~= ''
    or vim.bo[bufnr].buftype ~= ''
    or vim.api.nvim_buf_get_name(bufnr) == ''
    or not vim.lsp.is_enabled('autogate')
    or #vim.lsp.get_clients({ name = 'autogate', bufnr = bufnr }) > 0
  then
    return
  end
  local config = vim.lsp.config.autogate
  if not config or config.filetypes or type(config.root_dir) == 'function' then
    return
  end
  config = vim.deepcopy(config)
  if not config.root_dir and config.root_markers then
    config.root_dir = vim.fs.root(bufnr, config.root_markers)
  end
  vim.lsp.start(config, { bufnr = bufnr, reuse_client = config.reuse_client })
end

return M
