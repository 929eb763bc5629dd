-- The plain Neovim 0.11 way, without setup(): lsp/autogate.lua + vim.lsp.enable('autogate'),
-- the command from vim.g.autogate_cmd; the statusline in 'statusline'; the help file.

T.write({ ['src/lib.rs'] = 'fn main() {}\n' })
vim.g.autogate_cmd = T.bin
vim.lsp.enable('autogate')

T.case("vim.lsp.enable('autogate') works with vim.g.autogate_cmd", function()
  local bufnr = T.open('src/lib.rs')
  local client = T.client()
  T.eq({ T.bin }, client.config.cmd, 'cmd')
  T.eq(T.ws, client.root_dir, 'root (.autogate.toml)')
  T.eq({ '.autogate.toml', '.git' }, client.config.root_markers, 'root markers')
  T.eq(nil, client.config.filetypes, 'every filetype')
  local summary = T.propose(T.edit('src/lib.rs', 0, 0, 0, 0, '// entry point\n'))
  T.eq('applied', summary.changes[1].status, 'status')
  T.wait_text(bufnr, '// entry point\nfn main() {}\n', 'the applied edit')
end)

T.case('the statusline component works in a statusline expression', function()
  vim.o.statusline = '%f %{v:lua.require("autogate").statusline()}'
  T.statusline('autogate:auto')
  local rendered = vim.api.nvim_eval_statusline(vim.o.statusline, { maxwidth = 200 }).str
  T.contains(rendered, 'autogate:auto', 'rendered statusline')
end)

T.case('the statusline is empty without a server', function()
  for _, client in ipairs(vim.lsp.get_clients({ name = 'autogate' })) do
    client:stop(true)
  end
  T.wait(function()
    return #vim.lsp.get_clients({ name = 'autogate' }) == 0
  end, 'the client to stop')
  T.eq('', require('autogate').statusline(), 'statusline')
end)

T.case('doc/autogate.txt is valid help with the documented tags', function()
  local dir = vim.fs.joinpath(vim.fn.tempname(), 'doc')
  vim.fn.mkdir(dir, 'p')
  vim.uv.fs_copyfile(vim.fs.joinpath(T.plugin, 'doc', 'autogate.txt'), vim.fs.joinpath(dir, 'autogate.txt'))
  T.cmd('helptags ' .. vim.fn.fnameescape(dir))
  local tags = table.concat(vim.fn.readfile(vim.fs.joinpath(dir, 'tags')), '\n')
  for _, tag in ipairs({ 'autogate.txt', ':Autogate', 'autogate-setup', 'autogate-statusline', 'autogate-approval' }) do
    T.contains(tags, tag .. '\t', 'tag ' .. tag)
  end
end)

T.case('the shipped doc/tags is what :helptags makes, and :help autogate works at once', function()
  local dir = vim.fs.joinpath(vim.fn.tempname(), 'doc')
  vim.fn.mkdir(dir, 'p')
  vim.uv.fs_copyfile(vim.fs.joinpath(T.plugin, 'doc', 'autogate.txt'), vim.fs.joinpath(dir, 'autogate.txt'))
  T.cmd('helptags ' .. vim.fn.fnameescape(dir))
  local made = vim.fn.readfile(vim.fs.joinpath(dir, 'tags'))
  local shipped = vim.fn.readfile(vim.fs.joinpath(T.plugin, 'doc', 'tags'))
  T.eq(made, shipped, 'doc/tags (regenerate with :helptags editors/neovim/doc)')
  -- The plugin directory is on 'runtimepath' in these tests: no :helptags needed first.
  T.cmd('help autogate')
  T.eq('autogate.txt', vim.fn.expand('%:t'), 'the help buffer')
  T.cmd('helpclose')
end)
