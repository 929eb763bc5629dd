-- :Autogate rollback: a clear message while the server has no checkpoints; once it has, the
-- buffer is restored.

local ORIGINAL = 'fn main() {}\n'
T.write({ ['src/lib.rs'] = ORIGINAL })
require('autogate').setup({ cmd = { T.bin } })

T.case(':Autogate rollback restores the buffer, or says clearly why it cannot', function()
  local bufnr = T.open('src/lib.rs')
  local summary = T.propose(T.edit('src/lib.rs', 0, 0, 0, 0, '// entry point\n'))
  T.eq('applied', summary.changes[1].status, 'status')
  T.wait_text(bufnr, '// entry point\n' .. ORIGINAL, 'the applied edit')
  local from = #T.messages
  T.cmd('Autogate rollback')
  -- (The headline of the proposal may arrive after its answer: look for the rollback's own.)
  local msg = T.message_where(function(m)
    return m.msg:find('rollback', 1, true) ~= nil
  end, 'an answer to rollback', from)
  if msg.level == vim.log.levels.ERROR then
    T.contains(msg.msg, 'autogate: rollback is not available yet', 'the server’s message, verbatim')
    T.eq('// entry point\n' .. ORIGINAL, T.text(bufnr), 'buffer untouched')
  else
    T.contains(msg.msg, 'autogate: rollback', 'message')
    T.wait_text(bufnr, ORIGINAL, 'the restored buffer')
  end
end)

T.case(':Autogate rollback with a bad argument count is a usage error', function()
  local from = #T.messages
  T.cmd('Autogate rollback a b')
  T.message('usage: :Autogate rollback [checkpoint]', vim.log.levels.ERROR, from)
end)
