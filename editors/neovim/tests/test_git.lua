-- In a git repository on `main` the environment is production: medium changes ask, and
-- :checkhealth says so. (Hermetic repo: fixed identity, no signing.)

os.remove(vim.fs.joinpath(T.ws, '.autogate.toml')) -- the root is found by `.git`
T.write({ ['src/lib.rs'] = 'pub fn one() -> u32 {\n    1\n}\n' })
local function git(...)
  local out = vim.system({ 'git', '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', '-c', 'commit.gpgsign=false', ... }, {
    cwd = T.ws,
    text = true,
  }):wait()
  assert(out.code == 0, table.concat({ ... }, ' ') .. ': ' .. out.stderr)
end
git('init', '-q', '-b', 'main')
git('add', '.')
git('commit', '-q', '-m', 'init')
require('autogate').setup({ cmd = { T.bin } })

T.case('on main a medium change asks', function()
  local bufnr = T.open('src/lib.rs')
  T.eq(T.ws, T.client().root_dir, 'root by .git')
  local summary = T.propose(T.edit('src/lib.rs', 1, 4, 1, 5, '2'))
  local c = summary.changes[1]
  T.eq({ 'medium', 'ask', 'pending' }, { c.level, c.decision, c.status }, 'level/decision/status')
  T.statusline('autogate:auto 1⏳')
  T.prompt('the approval prompt').choose('Reject')
  T.statusline('autogate:auto')
  T.eq('pub fn one() -> u32 {\n    1\n}\n', T.text(bufnr), 'buffer')
end)

T.case(':checkhealth autogate: production on main, no policy file', function()
  T.cmd('checkhealth autogate')
  local text
  T.wait(function()
    for _, buf in ipairs(vim.api.nvim_list_bufs()) do
      if vim.bo[buf].filetype == 'checkhealth' then
        text = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n')
        return text:find('LLM provider', 1, true) ~= nil
      end
    end
    return false
  end, 'the checkhealth buffer')
  T.contains(text, 'WARNING production (branch `main`)', 'environment')
  T.contains(text, 'no policy file', 'policy')
  T.contains(text, 'mode auto, production', 'client')
end)
