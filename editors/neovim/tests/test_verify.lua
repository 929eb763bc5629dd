-- Verification: before the policy's [verify] commands run, the plugin saves the buffers the
-- server changed (autogate/saveDocuments); a failing command rolls the change back.

T.write({
  ['.autogate.toml'] = '[verify]\ncommands = [{ run = "! grep -q BROKEN notes.txt", timeout_secs = 10 }]\n',
  ['notes.txt'] = 'fine\n',
})
require('autogate').setup({ cmd = { T.bin } })

local function disk()
  return table.concat(vim.fn.readfile(T.ws .. '/notes.txt'), '\n') .. '\n'
end

T.case('a verified change is saved by the plugin, so the commands see it', function()
  local bufnr = T.open('notes.txt')
  T.client()
  T.propose(T.edit('notes.txt', 0, 0, 0, 4, 'good'), 'reword')
  T.wait(function()
    return disk() == 'good\n'
  end, 'the buffer saved to disk')
  T.eq('good\n', T.text(bufnr), 'buffer')
  T.eq(false, vim.bo[bufnr].modified, 'saved, not modified')
end)

T.case('a change that fails verification is rolled back in the buffer and on disk', function()
  local bufnr = T.open('notes.txt')
  T.propose(T.edit('notes.txt', 0, 0, 0, 4, 'BROKEN'), 'break it')
  T.message('verification failed')
  T.wait(function()
    return T.text(bufnr) == 'good\n' and disk() == 'good\n'
  end, 'the rollback of buffer and disk')
end)
