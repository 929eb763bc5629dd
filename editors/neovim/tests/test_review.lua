-- Reviewing pending changes: :Autogate pending (quickfix), :Autogate diff (float), completion,
-- and :Autogate approve / reject without an id (picked from the pending list).

local MANIFEST = '[package]\nname = "x"\nversion = "0.1.0"\n'
T.write({ ['Cargo.toml'] = MANIFEST, ['package.json'] = '{"name": "x"}\n' })
require('autogate').setup({ cmd = { T.bin } })

local function pend(rel, edit)
  local summary = T.propose(edit)
  T.eq('pending', summary.changes[1].status, rel .. ' status')
  T.prompt('the approval prompt for ' .. rel).dismiss()
  return summary.changes[1].id
end

T.case(':Autogate pending fills the quickfix list', function()
  T.open('Cargo.toml')
  pend('Cargo.toml', T.edit('Cargo.toml', 1, 0, 2, 0, 'name = "y"\n'))
  pend('package.json', T.edit('package.json', 0, 0, 1, 0, '{"name": "y"}\n'))
  T.statusline('autogate:auto 2⏳')
  T.cmd('Autogate pending')
  local qf
  T.wait(function()
    qf = vim.fn.getqflist({ items = 0, title = 0 })
    return #qf.items == 2
  end, 'two quickfix entries')
  T.eq('autogate: pending changes', qf.title, 'title')
  local one, two = qf.items[1], qf.items[2]
  T.eq(vim.fs.joinpath(T.ws, 'Cargo.toml'), vim.api.nvim_buf_get_name(one.bufnr), 'first file')
  T.eq(vim.fs.joinpath(T.ws, 'package.json'), vim.api.nvim_buf_get_name(two.bufnr), 'second file')
  T.truthy(one.text:match('^change 1 %(high%): .+'), 'text ' .. vim.inspect(one.text))
  T.truthy(two.text:match('^change 2 %(high%): .+'), 'text ' .. vim.inspect(two.text))
  T.eq(2, one.lnum, 'line of the change in Cargo.toml (its diagnostic)')
  vim.cmd('cclose')
end)

T.case('completion offers subcommands, pending ids and modes', function()
  T.eq(T.truthy(require('autogate.commands').subcommands), vim.fn.getcompletion('Autogate ', 'cmdline'), 'subcommands')
  T.eq({ 'reject' }, vim.fn.getcompletion('Autogate rej', 'cmdline'), 'prefix')
  T.eq({ '1', '2' }, vim.fn.getcompletion('Autogate approve ', 'cmdline'), 'ids')
  T.eq({ '2' }, vim.fn.getcompletion('Autogate diff 2', 'cmdline'), 'id prefix')
  T.eq({ 'auto', 'ask', 'plan' }, vim.fn.getcompletion('Autogate mode ', 'cmdline'), 'modes')
  T.eq({}, vim.fn.getcompletion('Autogate mode plan ', 'cmdline'), 'nothing after the mode')
  T.eq({ 'pending' }, vim.fn.getcompletion('silent Autogate pe', 'cmdline'), 'after a modifier')
  T.eq({ 'run', 'reject', 'rollback', 'revoke' }, vim.fn.getcompletion("'<,'>Autogate r", 'cmdline'), 'after a range')
end)

T.case(':Autogate diff 1 opens the diff in a float', function()
  local before = vim.api.nvim_get_current_win()
  T.cmd('Autogate diff 1')
  local win
  T.wait(function()
    win = vim.api.nvim_get_current_win()
    return win ~= before and vim.api.nvim_win_get_config(win).relative ~= ''
  end, 'a floating window')
  local buf = vim.api.nvim_win_get_buf(win)
  T.eq('diff', vim.bo[buf].filetype, 'filetype')
  local title = vim.api.nvim_win_get_config(win).title
  T.contains(vim.inspect(title), 'autogate change 1: high, pending, decision ask', 'title')
  local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  T.truthy(vim.list_contains(lines, '-name = "x"'), 'a - line in ' .. vim.inspect(lines))
  T.truthy(vim.list_contains(lines, '+name = "y"'), 'a + line in ' .. vim.inspect(lines))
  T.cmd('close')
  T.eq(before, vim.api.nvim_get_current_win(), 'back in the editing window')
end)

T.case('"Show diff" in the approval prompt opens the float too', function()
  local id = T.propose(T.edit('Cargo.toml', 2, 0, 3, 0, 'version = "0.2.0"\n')).changes[1].id
  T.prompt('the approval prompt').choose('Show diff')
  T.wait(function()
    local buf = vim.api.nvim_get_current_buf()
    return vim.bo[buf].filetype == 'diff'
      and vim.list_contains(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '+version = "0.2.0"')
  end, 'the diff float of change ' .. id)
  -- The server asks again after showing the diff: the prompt waits until the diff is closed.
  vim.wait(300)
  T.eq(0, T.unanswered(), 'no prompt over the diff')
  T.cmd('close')
  T.prompt('the prompt again').dismiss()
end)

T.case(':Autogate approve without an id picks from the pending changes', function()
  local bufnr = T.open('Cargo.toml')
  T.cmd('Autogate approve')
  local pick = T.prompt('the pick of a pending change')
  T.eq(3, #pick.items, 'three pending changes to pick from')
  T.contains(pick.opts.format_item(pick.items[1]), 'change 1 (high, pending) Cargo.toml', 'item')
  pick.choose('1')
  T.wait_text(bufnr, '[package]\nname = "y"\nversion = "0.1.0"\n', 'change 1 in the buffer')
  T.message('autogate: approve: change 1 (high, approved)')
  T.statusline('autogate:auto 2⏳')
end)

T.case(':Autogate reject 2 writes nothing', function()
  T.cmd('Autogate reject 2')
  T.message('autogate: reject: change 2 (high, rejected)')
  T.eq('{"name": "x"}\n', T.read('package.json'), 'package.json')
  T.statusline('autogate:auto 1⏳')
end)
