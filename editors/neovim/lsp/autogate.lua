-- The autogate language server, for `vim.lsp.enable('autogate')` (Neovim 0.11+).
--
-- The command comes from `require('autogate').setup{ cmd = ... }`, else `vim.g.autogate_cmd`
-- (a string or a list), else `autogate` on PATH. The rest of the client behaviour (diff floats,
-- mode tracking, statusline) lives in `lua/autogate/`.

---@type vim.lsp.Config
return {
  cmd = require('autogate.config').cmd(),
  -- No `filetypes`: autogate gates edits to every kind of file (manifests, CI files, code).
  root_markers = { '.autogate.toml', '.git' },
  init_options = require('autogate.config').init_options(),
  handlers = require('autogate.handlers'),
  -- This client saves buffers on `autogate/saveDocuments` (before verification commands run).
  capabilities = { experimental = { autogate = { saveDocuments = true } } },
  on_init = function(client)
    require('autogate.state').on_init(client)
  end,
  on_exit = function(_, _, client_id)
    require('autogate.state').on_exit(client_id)
  end,
}
