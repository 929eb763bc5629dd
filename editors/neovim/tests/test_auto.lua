-- A low-risk proposal is applied to the open buffer without a prompt; a dev-environment
-- medium one to a closed file is written on disk.

T.write({
  ['src/lib.rs'] = 'fn main() {}\n',
  ['src/util.rs'] = 'pub fn one() -> u32 {\n    1\n}\n',
  ['NOTES'] = 'first\n',
})
require('autogate').setup({ cmd = { T.bin } })

T.case('vim.lsp.enable starts autogate at the workspace root', function()
  local bufnr = T.open('src/lib.rs')
  local client = T.client()
  T.eq(T.ws, client.root_dir, 'root_dir')
  T.truthy(vim.lsp.buf_is_attached(bufnr, client.id), 'attached')
  T.statusline('autogate:auto')
end)

T.case('a low-risk edit is applied to the buffer without a prompt', function()
  local bufnr = T.open('src/lib.rs')
  local summary = T.propose(T.edit('src/lib.rs', 0, 0, 0, 0, '// entry point\n'), 'document main')
  T.eq(1, #summary.changes, 'changes')
  local c = summary.changes[1]
  T.eq('low', c.level, 'a comment-only edit is low')
  T.eq({ 'auto', 'applied' }, { c.decision, c.status }, 'decision/status')
  T.eq('// entry point\nfn main() {}\n', T.text(bufnr), 'buffer')
  vim.wait(200) -- a prompt would come after the answer
  T.eq(0, #T.prompts, 'prompts')
  T.message('autogate: 1 applied')
end)

T.case('a medium edit in the development environment is applied to a closed file on disk', function()
  local summary = T.propose(T.edit('src/util.rs', 1, 4, 1, 5, '2'), 'change one')
  local c = summary.changes[1]
  T.eq('medium', c.level, 'level: ' .. vim.inspect(c))
  T.eq({ 'auto', 'applied' }, { c.decision, c.status }, 'decision/status')
  T.eq('pub fn one() -> u32 {\n    2\n}\n', T.read('src/util.rs'), 'file on disk')
  vim.wait(200) -- a prompt would come after the answer
  T.eq(0, #T.prompts, 'prompts')
end)

T.case('a file without a filetype is attached too, and gets its edit in the buffer', function()
  local bufnr = T.open('NOTES')
  T.eq('', vim.bo[bufnr].filetype, 'filetype')
  T.eq(1, #vim.lsp.get_clients({ name = 'autogate' }), 'one client for the workspace')
  local summary = T.propose(T.edit('NOTES', 1, 0, 1, 0, 'second\n'))
  T.eq('applied', summary.changes[1].status, 'status')
  T.wait_text(bufnr, 'first\nsecond\n', 'the edit in the buffer')
  T.eq('first\n', T.read('NOTES'), 'the file is the buffer’s to save')
end)
