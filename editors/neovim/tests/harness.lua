-- Runs one test file inside a headless Neovim: loads the plugin from this checkout, starts the
-- real server through `require('autogate').setup()`, and gives the tests a few helpers.
--   nvim --headless --clean -u NONE -l harness.lua test_x.lua   (cwd: a fresh temp workspace)
-- Prints "ok - <case>" / "not ok - <case>: <why>" per case, then "# done".

local test_file = assert(arg[1], 'usage: harness.lua <test file>')
local BIN = assert(vim.env.AUTOGATE_TEST_BIN, 'AUTOGATE_TEST_BIN')
local PLUGIN = assert(vim.env.AUTOGATE_TEST_PLUGIN, 'AUTOGATE_TEST_PLUGIN')
local WS = assert(vim.env.AUTOGATE_TEST_WORKSPACE, 'AUTOGATE_TEST_WORKSPACE')

-- The globals before the plugin loads: the last case of every file checks it added none.
local globals_before = {}
for name in pairs(_G) do
  globals_before[name] = true
end

vim.opt.runtimepath:prepend(PLUGIN)
vim.o.swapfile = false
vim.o.shortmess = vim.o.shortmess .. 'A'
-- (The headless grid stays at its default size: resizing it trips an assertion in 0.11.4.)
vim.cmd('filetype on')
vim.cmd('runtime plugin/autogate.lua')

local T = {
  bin = BIN,
  plugin = PLUGIN,
  ws = WS,
  ---@type {msg: string, level: integer}[]
  messages = {},
  ---@type {items: any[], opts: table, on_choice: fun(choice: any), answered: boolean}[]
  prompts = {},
}

-- Every message, captured.
vim.notify = function(msg, level)
  T.messages[#T.messages + 1] = { msg = tostring(msg), level = level or vim.log.levels.INFO }
end

-- Every use of a deprecated API, recorded: the last case of every file checks there was none.
T.deprecated = {}
local deprecate = vim.deprecate
vim.deprecate = function(name, alternative, version, plugin, backtrace)
  T.deprecated[#T.deprecated + 1] = name .. ' (' .. debug.traceback('', 2) .. ')'
  return deprecate(name, alternative, version, plugin, backtrace)
end

-- Every vim.ui.select, queued: the test answers it with prompt:choose(title) / prompt:dismiss().
vim.ui.select = function(items, opts, on_choice)
  local p = { items = items, opts = opts or {}, answered = false }
  function p.choose(title)
    for _, item in ipairs(items) do
      local text = type(item) == 'table' and (item.title or item.id) or item
      if text == title then
        p.answered = true
        on_choice(item)
        return item
      end
    end
    error('no item ' .. vim.inspect(title) .. ' in ' .. vim.inspect(items))
  end
  function p.dismiss()
    p.answered = true
    on_choice(nil)
  end
  T.prompts[#T.prompts + 1] = p
end

--- Waits for cond() (processing events), or fails with what.
function T.wait(cond, what, ms)
  local ok = vim.wait(ms or 10000, cond, 10)
  if not ok then
    error('timed out waiting for ' .. what, 2)
  end
end

function T.eq(expected, actual, what)
  if not vim.deep_equal(expected, actual) then
    error(string.format('%s: expected %s, got %s', what or 'value', vim.inspect(expected), vim.inspect(actual)), 2)
  end
end

function T.truthy(v, what)
  if not v then
    error((what or 'expected a true value') .. ', got ' .. vim.inspect(v), 2)
  end
  return v
end

function T.contains(haystack, needle, what)
  if type(haystack) ~= 'string' or not haystack:find(needle, 1, true) then
    error(string.format('%s: %s does not contain %s', what or 'text', vim.inspect(haystack), vim.inspect(needle)), 2)
  end
end

--- Writes files into the workspace: { ['src/lib.rs'] = 'text' }.
function T.write(files)
  for rel, text in pairs(files) do
    local path = vim.fs.joinpath(WS, rel)
    vim.fn.mkdir(vim.fs.dirname(path), 'p')
    local f = assert(io.open(path, 'w'))
    f:write(text)
    f:close()
  end
end

function T.read(rel)
  local f = io.open(vim.fs.joinpath(WS, rel), 'r')
  if not f then
    return nil
  end
  local text = f:read('*a')
  f:close()
  return text
end

--- Buffer text, with the final newline files have.
function T.text(bufnr)
  return table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n') .. '\n'
end

--- Waits until the buffer holds `expected`.
function T.wait_text(bufnr, expected, what)
  local ok = vim.wait(10000, function()
    return T.text(bufnr) == expected
  end, 10)
  if not ok then
    error(string.format('timed out waiting for %s: buffer is %s', what, vim.inspect(T.text(bufnr))), 2)
  end
end

--- The running autogate client (waits for it to be initialized).
function T.client()
  local client
  T.wait(function()
    client = vim.lsp.get_clients({ name = 'autogate' })[1]
    return client ~= nil and client.initialized
  end, 'the autogate client to start')
  return client
end

--- Opens a workspace file and waits until autogate is attached to it.
function T.open(rel)
  local bufnr = vim.fn.bufadd(vim.fs.joinpath(WS, rel))
  vim.fn.bufload(bufnr)
  vim.bo[bufnr].buflisted = true
  vim.api.nvim_set_current_buf(bufnr)
  T.wait(function()
    local c = vim.lsp.get_clients({ name = 'autogate', bufnr = bufnr })[1]
    return c ~= nil and c.initialized
  end, 'autogate to attach to ' .. rel)
  return bufnr
end

function T.uri(rel)
  return vim.uri_from_fname(vim.fs.joinpath(WS, rel))
end

--- A WorkspaceEdit with one text edit.
function T.edit(rel, sl, sc, el, ec, text)
  return {
    changes = {
      [T.uri(rel)] = {
        { range = { start = { line = sl, character = sc }, ['end'] = { line = el, character = ec } }, newText = text },
      },
    },
  }
end

--- Runs an autogate.* command and waits for the answer: result, err.
function T.exec(command, args)
  local client = T.client()
  if args == nil or next(args) == nil then
    args = vim.empty_dict() -- `{}`, not `[]`
  end
  local done, err, result = false, nil, nil
  client:exec_cmd(
    { title = command, command = command, arguments = { args } },
    { bufnr = vim.api.nvim_get_current_buf() },
    function(e, r)
      done, err, result = true, e, r
    end
  )
  T.wait(function()
    return done
  end, command)
  return result, err
end

--- Proposes a WorkspaceEdit; returns the Summary.
function T.propose(edit, intent)
  local result, err = T.exec('autogate.proposeEdit', { edit = edit, intent = intent, source = 'nvim-test' })
  if err then
    error('proposeEdit failed: ' .. vim.inspect(err), 2)
  end
  return result
end

--- The next unanswered vim.ui.select prompt.
function T.prompt(what)
  local found
  T.wait(function()
    for _, p in ipairs(T.prompts) do
      if not p.answered then
        found = p
        return true
      end
    end
    return false
  end, what or 'a vim.ui.select prompt')
  return found
end

function T.unanswered()
  local n = 0
  for _, p in ipairs(T.prompts) do
    n = n + (p.answered and 0 or 1)
  end
  return n
end

--- Runs an Ex command; a Lua error escaping it fails the test.
function T.cmd(command)
  local ok, err = pcall(vim.cmd, command)
  if not ok then
    error('`' .. command .. '` raised: ' .. tostring(err), 2)
  end
end

--- The messages captured since index `from` at the given level (all levels if nil).
function T.messages_since(from, level)
  local out = {}
  for i = from + 1, #T.messages do
    local m = T.messages[i]
    if level == nil or m.level == level then
      out[#out + 1] = m.msg
    end
  end
  return out
end

--- Waits for a message containing `needle`, returns it.
function T.message(needle, level, from)
  local found
  T.wait(function()
    for i = (from or 0) + 1, #T.messages do
      local m = T.messages[i]
      if m.msg:find(needle, 1, true) and (level == nil or m.level == level) then
        found = m.msg
        return true
      end
    end
    return false
  end, 'a message containing ' .. vim.inspect(needle) .. '; got ' .. vim.inspect(T.messages))
  return found
end

--- Waits for a message (after index `from`) for which pred(message) holds; returns it.
function T.message_where(pred, what, from)
  local found
  T.wait(function()
    for i = (from or 0) + 1, #T.messages do
      if pred(T.messages[i]) then
        found = T.messages[i]
        return true
      end
    end
    return false
  end, what .. '; got ' .. vim.inspect(T.messages))
  return found
end

--- Waits until the statusline component shows `expected`.
function T.statusline(expected)
  local got
  local ok = vim.wait(10000, function()
    got = require('autogate').statusline()
    return got == expected
  end, 10)
  if not ok then
    error('timed out waiting for statusline ' .. vim.inspect(expected) .. ' (last value ' .. vim.inspect(got) .. ')', 2)
  end
end

-- A fresh development workspace (no git): the policy file marks the root.
T.write({ ['.autogate.toml'] = '# autogate test workspace: the default policy\n' })

local cases = {}
function T.case(name, fn)
  cases[#cases + 1] = { name = name, fn = fn }
end

_G.T = T
local chunk = assert(loadfile(test_file))
chunk()
T.case('no deprecated API was used and no global leaked', function()
  T.eq({}, T.deprecated, 'deprecated calls')
  local leaked = {}
  for name in pairs(_G) do
    if not globals_before[name] and name ~= 'T' then
      leaked[#leaked + 1] = tostring(name)
    end
  end
  table.sort(leaked)
  T.eq({}, leaked, 'new globals')
end)

local failed = 0
for _, c in ipairs(cases) do
  local ok, err = xpcall(c.fn, debug.traceback)
  if ok then
    io.stdout:write('ok - ', c.name, '\n')
  else
    failed = failed + 1
    io.stdout:write('not ok - ', c.name, ': ', (tostring(err):gsub('\n', '\n#   ')), '\n')
  end
  io.stdout:flush()
end
io.stdout:write('# done\n')
io.stdout:flush()

for _, client in ipairs(vim.lsp.get_clients()) do
  client:stop(true)
end
os.exit(failed == 0 and 0 or 1)
