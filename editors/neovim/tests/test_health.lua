-- :checkhealth autogate reports the binary, the policy file and the environment.

T.write({ ['src/lib.rs'] = 'fn main() {}\n', ['.autogate.toml'] = '[llm]\nprovider = "openai"\napi_key_env = "AUTOGATE_TEST_KEY"\n' })
require('autogate').setup({ cmd = { T.bin } })

local function health_lines()
  T.cmd('checkhealth autogate')
  local lines
  T.wait(function()
    for _, buf in ipairs(vim.api.nvim_list_bufs()) do
      if vim.bo[buf].filetype == 'checkhealth' then
        lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
        if table.concat(lines, '\n'):find('LLM provider', 1, true) then
          return true
        end
      end
    end
    return false
  end, 'the checkhealth buffer')
  return table.concat(lines, '\n')
end

T.case(':checkhealth autogate reports the binary OK', function()
  T.open('src/lib.rs')
  local client = T.client()
  -- The server's first log message names the environment.
  T.wait(function()
    return require('autogate.state').get(client.id).environment == 'development'
  end, 'the environment from window/logMessage')
  local text = health_lines()
  local version = vim.trim(vim.system({ T.bin, '--version' }, { text = true }):wait().stdout)
  T.contains(text, 'OK binary found: ' .. T.bin .. ' (' .. version .. ')', 'binary')
  T.contains(text, 'OK client 1 running: root ' .. T.ws .. ', mode auto, development', 'client')
  T.contains(text, 'OK policy file: ' .. vim.fs.joinpath(T.ws, '.autogate.toml'), 'policy')
  T.contains(text, 'OK development (no git repository', 'environment')
  T.contains(text, '$AUTOGATE_TEST_KEY is not set', 'LLM key')
  T.truthy(not text:find('ERROR', 1, true), 'no ERROR in ' .. text)
  vim.cmd('tabclose')
end)

T.case('the environment follows AUTOGATE_ENV and the git branch', function()
  local env_of = require('autogate.health')._environment_of
  T.eq('production', env_of('main'), 'main')
  T.eq('production', env_of('release/1.2'), 'release/*')
  T.eq('production', env_of('prod-eu'), 'prod*')
  T.eq('development', env_of('feature/x'), 'feature')
  vim.env.AUTOGATE_ENV = 'production'
  vim.env.AUTOGATE_TEST_KEY = 'sk-secret-value'
  local text = health_lines()
  T.contains(text, 'OK AUTOGATE_ENV=production', 'forced environment')
  T.contains(text, 'OK $AUTOGATE_TEST_KEY is set', 'key set')
  T.truthy(not text:find('sk-secret-value', 1, true), 'the key is never shown')
  vim.cmd('tabclose')
end)

T.case('a broken policy file is reported with its line and column', function()
  local policy = vim.fs.joinpath(T.ws, '.autogate.toml')
  local keep = table.concat(vim.fn.readfile(policy), '\n') .. '\n'
  vim.fn.writefile({ 'mode = "sometimes"' }, policy)
  local text = health_lines()
  T.contains(text, 'ERROR policy file has errors: ' .. policy, 'error')
  T.contains(text, '.autogate.toml:1:8:', 'file:line:col')
  vim.fn.writefile(vim.split(keep, '\n', { trimempty = true }), policy)
  vim.cmd('tabclose')
end)

T.case('a missing binary is an error with advice', function()
  vim.lsp.config('autogate', { cmd = { '/nonexistent/autogate' } })
  local text = health_lines()
  T.contains(text, 'ERROR `/nonexistent/autogate` is not executable', 'error')
  vim.lsp.config('autogate', { cmd = { T.bin } })
end)
