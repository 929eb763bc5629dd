-- :Autogate mode: plan applies nothing and reports `planned`; the statusline follows the mode.

T.write({ ['src/lib.rs'] = 'fn main() {}\n' })
require('autogate').setup({ cmd = { T.bin } })

T.case(':Autogate mode plan, then a proposal: nothing applied, status planned', function()
  local bufnr = T.open('src/lib.rs')
  T.statusline('autogate:auto')
  T.cmd('Autogate mode plan')
  T.message('autogate: mode plan')
  T.statusline('autogate:plan')
  -- The server's startup line can reach the plugin after the answer: it must not undo the mode.
  local client = require('autogate.state').client(bufnr)
  require('autogate.handlers')['window/logMessage'](nil, {
    type = vim.lsp.protocol.MessageType.Info,
    message = 'autogate: auto mode, development (no git repository)',
  }, { client_id = client.id, method = 'window/logMessage' })
  vim.wait(50)
  T.eq('autogate:plan', require('autogate').statusline(), 'statusline after a late startup line')
  local summary = T.propose(T.edit('src/lib.rs', 0, 0, 0, 0, '// entry point\n'))
  T.eq('planned', summary.changes[1].status, 'status')
  T.eq('fn main() {}\n', T.text(bufnr), 'buffer')
  T.eq('fn main() {}\n', T.read('src/lib.rs'), 'file')
  vim.wait(200) -- a prompt would come after the answer
  T.eq(0, #T.prompts, 'prompts')
end)

T.case(':Autogate mode ask makes even a small edit wait', function()
  local bufnr = T.open('src/lib.rs')
  T.cmd('Autogate mode ask')
  T.statusline('autogate:ask')
  local summary = T.propose(T.edit('src/lib.rs', 0, 0, 0, 0, '// entry point\n'))
  T.eq({ 'ask', 'pending' }, { summary.changes[1].decision, summary.changes[1].status }, 'decision/status')
  T.prompt('the approval prompt').choose('Approve')
  T.wait_text(bufnr, '// entry point\nfn main() {}\n', 'the approved edit')
  T.statusline('autogate:ask')
end)

T.case(':Autogate mode without an argument picks a mode', function()
  T.cmd('Autogate mode')
  local pick = T.prompt('the mode pick')
  T.eq({ 'auto', 'ask', 'plan' }, pick.items, 'modes')
  pick.choose('auto')
  T.statusline('autogate:auto')
end)
