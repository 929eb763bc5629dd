-- A high-risk edit (the open Cargo.toml) asks through vim.ui.select: Approve applies it to the
-- buffer, Reject leaves the buffer and the file as they were.

local MANIFEST = '[package]\nname = "x"\nversion = "0.1.0"\n'
T.write({ ['Cargo.toml'] = MANIFEST })
require('autogate').setup({ cmd = { T.bin } })

T.case('approve applies a high-risk change to the buffer', function()
  local bufnr = T.open('Cargo.toml')
  T.statusline('autogate:auto')
  -- (Not at the very end: Neovim's apply_text_edits adds an empty line to an insertion past the
  -- last line.)
  local summary = T.propose(T.edit('Cargo.toml', 2, 0, 2, 0, 'edition = "2021"\n'), 'set the edition')
  local c = summary.changes[1]
  T.eq({ 'high', 'ask', 'pending' }, { c.level, c.decision, c.status }, 'level/decision/status')
  local prompt = T.prompt('the approval prompt')
  T.contains(prompt.opts.prompt, 'change 1 (high) to Cargo.toml waits for approval', 'prompt')
  T.eq({ 'Approve', 'Reject', 'Show diff' }, vim.tbl_map(function(a)
    return a.title
  end, prompt.items), 'actions')
  -- While it waits: nothing written, and the statusline counts it.
  T.eq(MANIFEST, T.text(bufnr), 'buffer before approval')
  T.statusline('autogate:auto 1⏳')
  prompt.choose('Approve')
  T.wait_text(bufnr, '[package]\nname = "x"\nedition = "2021"\nversion = "0.1.0"\n', 'the approved edit in the buffer')
  T.statusline('autogate:auto')
  local explained = T.exec('autogate.explain', { id = '1' })
  T.eq('approved', explained.status, 'status')
  T.eq(MANIFEST, T.read('Cargo.toml'), 'the file on disk is the buffer’s to save')
end)

T.case('reject leaves the buffer and the file unchanged', function()
  local bufnr = T.open('Cargo.toml')
  vim.cmd('silent write')
  local before = T.text(bufnr)
  local summary = T.propose(T.edit('Cargo.toml', 1, 0, 2, 0, 'name = "renamed"\n'), 'rename the crate')
  T.eq('pending', summary.changes[1].status, 'status')
  local id = summary.changes[1].id
  T.prompt('the approval prompt').choose('Reject')
  T.wait(function()
    local explained = T.exec('autogate.explain', { id = id })
    return explained and explained.status == 'rejected'
  end, 'the change to be rejected')
  T.eq(before, T.text(bufnr), 'buffer')
  T.eq(before, T.read('Cargo.toml'), 'file')
  T.statusline('autogate:auto')
end)

T.case('an approved insertion at the end of the buffer adds exactly its lines', function()
  -- Neovim 0.11 alone would add an empty line after them (see lua/autogate/handlers.lua).
  local bufnr = T.open('Cargo.toml')
  local before = T.text(bufnr)
  local n = vim.api.nvim_buf_line_count(bufnr)
  T.propose(T.edit('Cargo.toml', n, 0, n, 0, '[dependencies]\nleft-pad = "1"\n'), 'add a dependency')
  T.prompt('the approval prompt').choose('Approve')
  T.wait_text(bufnr, before .. '[dependencies]\nleft-pad = "1"\n', 'the appended section')
end)

T.case('a dismissed prompt leaves the change pending', function()
  T.open('Cargo.toml')
  local summary = T.propose(T.edit('Cargo.toml', 1, 0, 2, 0, 'name = "y"\n'))
  local id = summary.changes[1].id
  T.prompt('the approval prompt').dismiss()
  T.statusline('autogate:auto 1⏳')
  local pending, err = T.exec('autogate.pending', {})
  T.eq(nil, err, 'error')
  T.eq({ id }, vim.tbl_map(function(c)
    return c.id
  end, pending.changes), 'pending ids')
end)

T.case(':Autogate approve ID sends the content hash the pending list shows', function()
  T.open('Cargo.toml')
  local pending = T.exec('autogate.pending', {})
  local id = pending.changes[1].id
  T.eq('string', type(pending.changes[1].hash), 'the pending Summary carries the hash')
  -- An approval by id alone (what any client on the connection could send) is refused.
  local result, err = T.exec('autogate.approve', { id = id })
  T.eq(nil, result, 'no result')
  T.contains(err and err.message or '', 'needs `hash`', 'the error says why')
  T.cmd('Autogate approve ' .. id)
  T.message('autogate: approve: change ' .. id .. ' (high, approved)')
  T.statusline('autogate:auto')
end)
