-- `:checkhealth autogate`: the server binary, the policy file, the environment and the LLM key.

local M = {}

local health = vim.health

---@return string[]|function
local function server_cmd()
  local resolved = vim.lsp.config.autogate
  local cmd = resolved and resolved.cmd
  if type(cmd) == 'function' or (type(cmd) == 'table' and #cmd > 0) then
    return cmd
  end
  return require('autogate.config').cmd()
end

---@return string
local function root_dir()
  local client = require('autogate.state').client()
  if client and client.root_dir then
    return client.root_dir
  end
  return vim.fs.root(0, { '.autogate.toml', '.git' }) or vim.fn.getcwd()
end

---@param argv string[]
---@param cwd? string
---@return vim.SystemCompleted?
local function run(argv, cwd)
  local ok, proc = pcall(vim.system, argv, { text = true, cwd = cwd })
  if not ok then
    return nil
  end
  return proc:wait(5000)
end

--- production for main, master, release/*, prod*; development for anything else.
---@param branch string
---@return string
local function environment_of(branch)
  if branch == 'main' or branch == 'master' or branch:match('^release/') or branch:match('^prod') then
    return 'production'
  end
  return 'development'
end

local function check_binary()
  health.start('autogate: server binary')
  if vim.fn.has('nvim-0.11') == 0 then
    health.error('autogate needs Neovim 0.11 or newer')
  end
  local cmd = server_cmd()
  if type(cmd) == 'function' then
    health.info('the server command is a function; not checked')
    return
  end
  local exe = cmd[1]
  if vim.fn.executable(exe) ~= 1 then
    health.error(string.format('`%s` is not executable or not on PATH', exe), {
      'Build it: cargo build -p autogate (or cargo install --path server/autogate)',
      "Or point to it: require('autogate').setup({ cmd = { '/path/to/autogate' } })",
    })
    return
  end
  local path = vim.fn.exepath(exe)
  local out = run({ path, '--version' })
  if out and out.code == 0 then
    health.ok(string.format('binary found: %s (%s)', path, vim.trim(out.stdout or '')))
  else
    health.error(
      string.format('`%s --version` failed: %s', path, out and vim.trim(out.stderr or '') or 'did not run')
    )
  end
  local clients = vim.lsp.get_clients({ name = 'autogate' })
  if #clients == 0 then
    health.info("no autogate client is running (vim.lsp.enable('autogate') starts it when a file opens)")
  end
  for _, client in ipairs(clients) do
    local s = require('autogate.state').get(client.id)
    health.ok(
      string.format(
        'client %d running: root %s, mode %s%s',
        client.id,
        client.root_dir or '(none)',
        s.mode,
        s.environment and (', ' .. s.environment) or ''
      )
    )
  end
end

---@param root string
---@return string? policy path
local function check_policy(root)
  health.start('autogate: policy')
  local policy = vim.fs.joinpath(root, '.autogate.toml')
  if vim.uv.fs_stat(policy) then
    -- Validate with the server's own checker: `autogate policy check` (exit 1 on errors).
    local cmd = server_cmd()
    local exe = type(cmd) == 'table' and cmd[1] and vim.fn.exepath(cmd[1]) or ''
    local out = exe ~= '' and run({ exe, '--root', root, 'policy', 'check' }) or nil
    if out and out.code == 1 then
      health.error('policy file has errors: ' .. policy, vim.split(vim.trim(out.stdout or ''), '\n'))
    elseif out and out.code ~= 0 then
      health.warn('could not check the policy file: ' .. vim.trim(out.stderr or ''))
    else
      health.ok('policy file: ' .. policy)
    end
    return policy
  end
  health.info('no policy file (' .. policy .. '): the default policy applies')
end

---@param root string
local function check_environment(root)
  health.start('autogate: environment')
  local forced = vim.env.AUTOGATE_ENV
  if forced and forced ~= '' then
    health.ok('AUTOGATE_ENV=' .. forced)
    return
  end
  local out = vim.fn.executable('git') == 1 and run({ 'git', 'rev-parse', '--abbrev-ref', 'HEAD' }, root) or nil
  if not out or out.code ~= 0 then
    health.ok('development (no git repository at ' .. root .. ')')
    return
  end
  local branch = vim.trim(out.stdout or '')
  if branch == 'HEAD' then
    health.ok('development (detached HEAD)')
    return
  end
  local env = environment_of(branch)
  if env == 'production' then
    health.warn(string.format('production (branch `%s`): only low-risk changes apply without approval', branch))
  else
    health.ok(string.format('development (branch `%s`)', branch))
  end
end

---@param policy? string
local function check_llm(policy)
  health.start('autogate: LLM provider')
  if not policy then
    health.info('no provider configured')
    return
  end
  local file = io.open(policy, 'r')
  if not file then
    health.warn('cannot read ' .. policy)
    return
  end
  local names = {}
  for line in file:lines() do
    local name = line:match('^%s*api_key_env%s*=%s*["\']([%w_]+)["\']')
    if name then
      names[#names + 1] = name
    end
  end
  file:close()
  if #names == 0 then
    health.info('the policy names no provider key (api_key_env)')
  end
  for _, name in ipairs(names) do
    -- Only whether it is set: never the key itself.
    if vim.env[name] and vim.env[name] ~= '' then
      health.ok(string.format('$%s is set', name))
    else
      health.warn(string.format('$%s is not set: `:Autogate run` cannot reach the provider', name))
    end
  end
end

function M.check()
  check_binary()
  local root = root_dir()
  local policy = check_policy(root)
  check_environment(root)
  check_llm(policy)
end

M._environment_of = environment_of

return M
