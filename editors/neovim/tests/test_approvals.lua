-- Standing approvals from Neovim: `:Autogate approvals` lists them (vim.ui.select) and revokes
-- the one picked after a confirmation; `:Autogate revoke ID` revokes by id; the scope asks again.

local LIB = 'pub fn one() -> i32 {\n    1\n}\n'
T.write({
  ['src/parser/a.rs'] = LIB,
  ['src/parser/b.rs'] = LIB,
  ['src/parser/c.rs'] = LIB,
  ['.autogate.toml'] = '[environments.development]\nauto_up_to = "low"\n',
})
require('autogate').setup({ cmd = { T.bin } })

local ALWAYS = 'Approve always for body_only changes up to medium in src/parser/** (development)'

--- Proposes `one() -> n` in `rel`, takes "Approve always" from the prompt, waits for the edit.
local function approve_always(rel, n)
  local bufnr = T.open(rel)
  local summary = T.propose(T.edit(rel, 1, 4, 1, 5, tostring(n)))
  T.eq('ask', summary.changes[1].decision, 'decision')
  T.prompt('the approval prompt').choose(ALWAYS)
  T.wait_text(bufnr, 'pub fn one() -> i32 {\n    ' .. n .. '\n}\n', 'the approved edit')
end

T.case(':Autogate approvals lists them and revokes the one picked, after a confirmation', function()
  T.open('src/parser/a.rs')
  T.cmd('Autogate approvals')
  T.message('autogate: no standing approvals')
  approve_always('src/parser/a.rs', 2)

  T.cmd('Autogate approvals')
  local list = T.prompt('the list of standing approvals')
  T.eq(1, #list.items, 'one standing approval')
  local line = list.opts.format_item(list.items[1])
  T.contains(line, 'S1  body_only changes up to medium in src/parser/** (development)  by ', 'row')
  T.contains(line, ', until 20', 'row')
  T.eq('active', list.items[1].state, 'state')
  list.choose('S1')
  local confirm = T.prompt('the confirmation')
  T.contains(confirm.opts.prompt, 'revoke S1', 'confirmation')
  T.eq({ 'Revoke', 'Keep' }, confirm.items, 'choices')
  confirm.choose('Revoke')
  T.message('autogate: revoked S1 (0 standing approval(s) left)')

  -- The same scope asks again.
  T.open('src/parser/b.rs')
  local summary = T.propose(T.edit('src/parser/b.rs', 1, 4, 1, 5, '3'))
  T.eq({ 'ask', 'pending' }, { summary.changes[1].decision, summary.changes[1].status }, 'decision/status')
  T.prompt('the approval prompt').dismiss()
end)

T.case(':Autogate revoke ID revokes by id; an unknown id says so', function()
  approve_always('src/parser/c.rs', 4)
  local listed = T.exec('autogate.approvals', {})
  local id = listed.approvals[#listed.approvals].id
  T.eq('S2', id, 'ids are never reused')
  T.cmd('Autogate revoke S9')
  T.message('no standing approval `S9`', vim.log.levels.ERROR)
  T.cmd('Autogate revoke ' .. id)
  T.message('autogate: revoked S2 (0 standing approval(s) left)')
  T.eq({}, T.exec('autogate.approvals', {}).approvals, 'none left')
  T.cmd('Autogate revoke')
  T.message('usage: :Autogate revoke {id}', vim.log.levels.ERROR)
end)
