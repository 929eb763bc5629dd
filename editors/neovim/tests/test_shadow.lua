-- Shadow mode (set by the team policy): a change mode auto would have asked about is applied to
-- the buffer without a prompt, and autogate says what it would have decided. A secret is still
-- denied. Then, in a second workspace state, "Approve always" from the prompt.

local LIB = 'pub fn one() -> i32 {\n    1\n}\n'
T.write({
  ['src/lib.rs'] = LIB,
  ['.autogate.toml'] = 'mode = "shadow"\n\n[environments.development]\nauto_up_to = "low"\n',
})
require('autogate').setup({ cmd = { T.bin } })

T.case('shadow mode applies what auto would ask about, and says so', function()
  local bufnr = T.open('src/lib.rs')
  T.statusline('autogate:shadow')
  local summary = T.propose(T.edit('src/lib.rs', 1, 4, 1, 5, '2'), 'change the body')
  local c = summary.changes[1]
  T.eq({ 'medium', 'auto', 'applied' }, { c.level, c.decision, c.status }, 'level/decision/status')
  T.wait_text(bufnr, 'pub fn one() -> i32 {\n    2\n}\n', 'the edit in the buffer')
  vim.wait(200) -- a prompt would come after the answer
  T.eq(0, #T.prompts, 'prompts')
  local explained = T.exec('autogate.explain', { id = c.id })
  T.eq('mode.shadow', explained.rule, 'rule')
  T.eq('ask', explained.would.decision, 'what auto would have decided')
end)

T.case('shadow mode still denies a secret', function()
  local bufnr = T.open('src/lib.rs')
  local before = T.text(bufnr)
  local summary = T.propose(T.edit('src/lib.rs', 0, 0, 0, 0, 'const KEY: &str = "AKIAQ3EGRTWJ7ZKXPL4M";\n'))
  T.eq({ 'critical', 'deny', 'denied' }, {
    summary.changes[1].level,
    summary.changes[1].decision,
    summary.changes[1].status,
  }, 'level/decision/status')
  vim.wait(200)
  T.eq(before, T.text(bufnr), 'buffer')
end)
