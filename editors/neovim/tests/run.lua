-- Test runner, itself run by `nvim -l` (see run.sh): one fresh headless Neovim, autogate server
-- and temp workspace per test file, a few at a time. Prints the final "N passed, M failed".
--   nvim --headless --clean -u NONE -l run.lua <autogate> <nvim> <tmpdir> [filter]

local autogate, nvim, tmp, filter = arg[1], arg[2], arg[3], arg[4]
local here = vim.fs.dirname(vim.fs.abspath(debug.getinfo(1, 'S').source:sub(2)))
local plugin = vim.fs.dirname(here)
local TIMEOUT_MS = 45000
local PARALLEL = 3

local files = {}
for name, kind in vim.fs.dir(here) do
  if kind == 'file' and name:match('^test_.*%.lua$') and (filter == nil or filter == '' or name:find(filter, 1, true)) then
    files[#files + 1] = name
  end
end
table.sort(files)

local started = vim.uv.hrtime()
local results = {} ---@type table<string, vim.SystemCompleted>
local running, next_file = 0, 1

local function launch(name)
  local ws = vim.fs.joinpath(tmp, name:gsub('%.lua$', ''), 'ws')
  vim.fn.mkdir(ws, 'p')
  local env = {
    AUTOGATE_TEST_BIN = autogate,
    AUTOGATE_TEST_PLUGIN = plugin,
    AUTOGATE_TEST_WORKSPACE = ws,
  }
  running = running + 1
  vim.system(
    { nvim, '--headless', '--clean', '-u', 'NONE', '-l', vim.fs.joinpath(here, 'harness.lua'), vim.fs.joinpath(here, name) },
    { cwd = ws, env = env, text = true, timeout = TIMEOUT_MS },
    function(out)
      results[name] = out
      running = running - 1
    end
  )
end

while next_file <= #files or running > 0 do
  while running < PARALLEL and next_file <= #files do
    launch(files[next_file])
    next_file = next_file + 1
  end
  vim.wait(50, function()
    return running < PARALLEL and next_file <= #files or running == 0
  end, 20)
end

local passed, failed = 0, 0
for _, name in ipairs(files) do
  local out = results[name]
  local cases = 0
  for line in (out.stdout or ''):gmatch('[^\n]+') do
    if line:match('^ok ') then
      passed, cases = passed + 1, cases + 1
      io.stdout:write(name, ': ', line, '\n')
    elseif line:match('^not ok ') then
      failed, cases = failed + 1, cases + 1
      io.stdout:write(name, ': ', line, '\n')
    elseif line:match('^#') then
      io.stdout:write(name, ': ', line, '\n')
    end
  end
  local finished = (out.stdout or ''):find('\n# done\n', 1, true) ~= nil
  if out.code ~= 0 and cases == 0 or not finished then
    failed = failed + 1
    local why = out.signal == 15 and ('timed out after ' .. TIMEOUT_MS .. ' ms') or ('exit code ' .. out.code)
    io.stdout:write(name, ': not ok - the test file did not finish (', why, ')\n')
  end
  if out.code ~= 0 or not finished then
    local err = vim.trim(out.stderr or '')
    if err ~= '' then
      io.stdout:write('--- stderr of ', name, ' ---\n', err, '\n')
    end
  end
end
io.stdout:write(string.format('# %d files in %.1f s\n', #files, (vim.uv.hrtime() - started) / 1e9))
io.stdout:write(string.format('%d passed, %d failed\n', passed, failed))
io.stdout:flush()
os.exit(failed == 0 and #files > 0 and 0 or 1)
