-- "Approve always for <scope>" in the approval prompt (vim.ui.select): the change applies, and
-- the next change of the same scope applies without a prompt, naming the standing approval.

local LIB = 'pub fn one() -> i32 {\n    1\n}\n'
T.write({
  ['src/parser/a.rs'] = LIB,
  ['src/parser/b.rs'] = LIB,
  ['.autogate.toml'] = '[environments.development]\nauto_up_to = "low"\n',
})
require('autogate').setup({ cmd = { T.bin } })

T.case('approve always from the prompt makes the next change of its scope auto', function()
  local a = T.open('src/parser/a.rs')
  local summary = T.propose(T.edit('src/parser/a.rs', 1, 4, 1, 5, '2'))
  T.eq('ask', summary.changes[1].decision, 'decision')
  local prompt = T.prompt('the approval prompt')
  local titles = vim.tbl_map(function(item)
    return item.title
  end, prompt.items)
  local always = 'Approve always for body_only changes up to medium in src/parser/** (development)'
  T.eq({ 'Approve', always, 'Reject', 'Show diff' }, titles, 'actions')
  prompt.choose(always)
  T.wait_text(a, 'pub fn one() -> i32 {\n    2\n}\n', 'the approved edit')

  local b = T.open('src/parser/b.rs')
  summary = T.propose(T.edit('src/parser/b.rs', 1, 4, 1, 5, '3'))
  local c = summary.changes[1]
  T.eq({ 'auto', 'applied' }, { c.decision, c.status }, 'decision/status')
  T.contains(table.concat(c.reasons, '; '), 'standing approval S1', 'reasons')
  T.wait_text(b, 'pub fn one() -> i32 {\n    3\n}\n', 'the edit in the buffer')
  vim.wait(200)
  T.eq(0, T.unanswered(), 'no other prompt')
end)
