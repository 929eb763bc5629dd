-- :Autogate run: built-in operations on the current buffer, gated like any other edit.

T.write({
  ['src/lib.rs'] = 'pub fn total(a: u32) -> u32 {   \n    a\n}\n\n\n',
  ['src/main.rs'] = 'fn main() {\n    let _ = total(1);\n}\n',
})
require('autogate').setup({ cmd = { T.bin } })

T.case(':Autogate run tidy tidies the buffer as a low-risk change', function()
  local bufnr = T.open('src/lib.rs')
  T.client()
  T.cmd('Autogate run tidy')
  T.wait(function()
    return T.text(bufnr) == 'pub fn total(a: u32) -> u32 {\n    a\n}\n'
  end, 'the tidied buffer')
  T.message('autogate: 1 applied')
end)

T.case(':Autogate run rename renames the symbol under the cursor across the workspace', function()
  local bufnr = T.open('src/lib.rs')
  vim.api.nvim_win_set_cursor(0, { 1, 8 }) -- on `total`
  T.cmd('Autogate run rename sum')
  -- Renaming a public function with a caller asks: approve it at the prompt.
  local rename_prompt = T.prompt()
  local question = tostring(rename_prompt.opts.prompt)
  T.truthy(question:find('waits for approval', 1, true), question)
  rename_prompt.choose('Approve')
  T.wait(function()
    return T.text(bufnr):find('pub fn sum', 1, true) ~= nil
  end, 'the renamed definition')
  T.wait(function()
    local main = io.open(T.ws .. '/src/main.rs'):read('*a')
    return main:find('sum(1)', 1, true) ~= nil
  end, 'the renamed call site on disk')
end)

