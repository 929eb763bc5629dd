-- The `:Autogate` subcommands: each one is a thin call of an `autogate.*` server command
-- (docs/protocol.md). Bad arguments and server errors become messages, never tracebacks.

local config = require('autogate.config')
local state = require('autogate.state')
local ui = require('autogate.ui')

local M = {}

local SUBCOMMANDS = { 'run', 'pending', 'approve', 'reject', 'diff', 'rollback', 'log', 'mode', 'approvals', 'revoke' }

--- Runs `autogate.<name>` with one argument object; `on_result(result, client)` on success.
--- A JSON-RPC error is shown verbatim.
---@param name string e.g. 'pending'
---@param args table
---@param on_result? fun(result: any, client: vim.lsp.Client)
---@return boolean sent
local function exec(name, args, on_result)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = state.client(bufnr)
  if not client then
    ui.error(
      "autogate: no autogate language server is running (require('autogate').setup() or vim.lsp.enable('autogate'), then open a file in the workspace)"
    )
    return false
  end
  -- A command of the protocol, or one a newer server advertises (`autogate.log`).
  local command = require('autogate.protocol').commands[name] or ('autogate.' .. name)
  local arguments = { next(args) == nil and vim.empty_dict() or args }
  client:exec_cmd({ title = command, command = command, arguments = arguments }, { bufnr = bufnr }, function(err, result)
    if err then
      ui.error('autogate: ' .. tostring(err.message or err))
    elseif on_result then
      local ok, problem = pcall(on_result, result, client)
      if not ok then
        ui.error('autogate: ' .. tostring(problem))
      end
    end
    state.changed()
  end)
  return true
end

--- One line per change: `change 3 (high, pending) Cargo.toml: protected path`.
---@param c table a change of a Summary
---@return string
local function describe(c)
  return string.format(
    'change %s (%s, %s) %s: %s',
    c.id,
    c.level,
    c.status,
    table.concat(c.files or {}, ', '),
    table.concat(c.reasons or {}, '; ')
  )
end

--- Shows a Summary: one line per change.
---@param what string
---@param summary table
local function show_summary(what, summary)
  local changes = type(summary) == 'table' and summary.changes or {}
  if #changes == 0 then
    ui.notify('autogate: ' .. what .. ': no changes')
    return
  end
  local lines = {}
  for _, c in ipairs(changes) do
    lines[#lines + 1] = describe(c)
  end
  ui.notify('autogate: ' .. what .. ': ' .. table.concat(lines, '\n'))
end

--- Remembers the content hash of every change of a Summary the person was shown.
---@param summary table
---@param client vim.lsp.Client
local function saw_all(summary, client)
  for _, c in ipairs(type(summary) == 'table' and summary.changes or {}) do
    if type(c.hash) == 'string' then
      state.saw(client.id, c.id, c.hash)
    end
  end
end

--- Calls `then_(id)` with the given id, or with one picked from the pending changes.
---@param id? string
---@param verb string
---@param then_ fun(id: string)
local function with_id(id, verb, then_)
  if id then
    return then_(id)
  end
  exec('pending', {}, function(summary, client)
    saw_all(summary, client)
    local changes = summary and summary.changes or {}
    if #changes == 0 then
      ui.notify('autogate: no pending changes to ' .. verb)
      return
    end
    vim.ui.select(changes, {
      prompt = 'autogate: ' .. verb .. ' which change?',
      kind = 'autogate_change',
      format_item = describe,
    }, function(choice)
      if choice then
        then_(choice.id)
      end
    end)
  end)
end

--- Calls `then_(hash)` with the content hash an approval of change `id` must carry: the one of
--- the diff or the pending list the person saw, else the one the pending list has now. `nil`
--- if the change is not pending: the server then says why it cannot be approved.
---@param id string
---@param then_ fun(hash: string?)
local function hash_of(id, then_)
  local client = state.client()
  local hash = client and state.seen(client.id, id) or nil
  if hash then
    return then_(hash)
  end
  exec('pending', {}, function(summary, c)
    saw_all(summary, c)
    then_(state.seen(c.id, id))
  end)
end

---@param client vim.lsp.Client
---@param file string relative to the workspace root
---@return string
local function absolute(client, file)
  if file:sub(1, 1) == '/' or file:match('^%a:[/\\]') then
    return file
  end
  local root = client.root_dir or vim.fn.getcwd()
  return vim.fs.joinpath(root, file)
end

--- The first line of a change's diagnostic in a buffer, else 1.
---@param path string
---@param id string
---@return integer lnum
---@return integer col
local function position_of(path, id)
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_get_name(bufnr) == path then
      for _, d in ipairs(vim.diagnostic.get(bufnr)) do
        if d.source == 'autogate' and tostring(d.code) == 'change-' .. id then
          return d.lnum + 1, d.col + 1
        end
      end
    end
  end
  return 1, 1
end

---@type table<string, {run: fun(args: string[], opts: table), complete?: fun(arglead: string): string[]}>
local handlers = {}

local function pending_complete(arglead)
  return vim.tbl_filter(function(id)
    return vim.startswith(id, arglead)
  end, state.pending_ids())
end

handlers.pending = {
  run = function(args)
    if #args > 0 then
      return ui.error('autogate: `pending` takes no arguments')
    end
    exec('pending', {}, function(summary, client)
      saw_all(summary, client)
      local items = {}
      for _, c in ipairs(summary.changes or {}) do
        for _, file in ipairs(c.files or {}) do
          local path = absolute(client, file)
          local lnum, col = position_of(path, c.id)
          items[#items + 1] = {
            filename = path,
            lnum = lnum,
            col = col,
            type = (c.level == 'high' or c.level == 'critical') and 'W' or 'I',
            text = string.format('change %s (%s): %s', c.id, c.level, table.concat(c.reasons or {}, '; ')),
            user_data = { autogate_id = c.id },
          }
        end
      end
      vim.fn.setqflist({}, ' ', { title = 'autogate: pending changes', items = items })
      if #items == 0 then
        ui.notify('autogate: no pending changes')
      else
        ui.notify(string.format('autogate: %d pending change(s) in the quickfix list', #(summary.changes or {})))
        vim.cmd('botright copen')
      end
    end)
  end,
}

handlers.approve = {
  complete = pending_complete,
  run = function(args)
    if #args > 1 then
      return ui.error('autogate: usage: :Autogate approve [id]')
    end
    with_id(args[1], 'approve', function(id)
      hash_of(id, function(hash)
        exec('approve', { id = id, hash = hash }, function(summary)
          show_summary('approve', summary)
        end)
      end)
    end)
  end,
}

handlers.reject = {
  complete = pending_complete,
  run = function(args)
    if #args > 1 then
      return ui.error('autogate: usage: :Autogate reject [id]')
    end
    with_id(args[1], 'reject', function(id)
      exec('reject', { id = id }, function(summary)
        show_summary('reject', summary)
      end)
    end)
  end,
}

handlers.diff = {
  complete = pending_complete,
  run = function(args)
    if #args > 1 then
      return ui.error('autogate: usage: :Autogate diff [id]')
    end
    with_id(args[1], 'show', function(id)
      -- `explain` has the diff, the level and the content hash: an approval by command after
      -- this is bound to the content shown (docs/security.md).
      exec('explain', { id = id }, function(result, client)
        local report = type(result.report) == 'table' and result.report or {}
        if type(result.hash) == 'string' then
          state.saw(client.id, id, result.hash)
        end
        if type(result.mode) == 'string' then
          state.set_mode(client.id, result.mode)
        end
        ui.open_diff(tostring(result.id or id), result.diff or '', {
          level = report.level,
          status = result.status,
          decision = result.decision,
          reasons = report.reasons,
        })
      end)
    end)
  end,
}

--- One line per standing approval: `S1  body_only changes … (development)  by Ann, until
--- 2027-01-02`, then `(expired)` or `(ignored: not in the audit trail)` when it does not hold.
---@param a table an entry of `autogate.approvals`
---@return string
function M.describe_approval(a)
  local line = string.format('%s  %s  by %s, until %s', a.id, a.scope, a.by, tostring(a.expires or ''):sub(1, 10))
  if a.state == 'expired' then
    line = line .. '  (expired)'
  elseif a.state == 'ignored' then
    line = line .. '  (ignored: not in the audit trail)'
  end
  return line
end

--- The ids of the standing approvals last listed, for completion.
---@type string[]
local approval_ids = {}

---@param result table
local function remember_approvals(result)
  approval_ids = vim.tbl_map(function(a)
    return a.id
  end, type(result) == 'table' and result.approvals or {})
end

--- Revokes standing approval `id` and says what is left.
---@param id string
local function revoke(id)
  exec('revokeApproval', { id = id }, function(result)
    remember_approvals(result)
    ui.notify(string.format('autogate: revoked %s (%d standing approval(s) left)', id, #(result.approvals or {})))
  end)
end

handlers.approvals = {
  run = function(args)
    if #args > 0 then
      return ui.error('autogate: `approvals` takes no arguments')
    end
    exec('approvals', {}, function(result)
      remember_approvals(result)
      local approvals = result.approvals or {}
      if #approvals == 0 then
        ui.notify('autogate: no standing approvals')
        return
      end
      vim.ui.select(approvals, {
        prompt = 'autogate: standing approvals (pick one to revoke)',
        kind = 'autogate_approval',
        format_item = M.describe_approval,
      }, function(choice)
        if not choice then
          return
        end
        vim.ui.select({ 'Revoke', 'Keep' }, {
          prompt = string.format('autogate: revoke %s (%s)? Its changes will ask again.', choice.id, choice.scope),
          kind = 'autogate_confirm',
        }, function(answer)
          if answer == 'Revoke' then
            revoke(choice.id)
          end
        end)
      end)
    end)
  end,
}

handlers.revoke = {
  complete = function(arglead)
    return vim.tbl_filter(function(id)
      return vim.startswith(id, arglead)
    end, approval_ids)
  end,
  run = function(args)
    if #args ~= 1 then
      return ui.error('autogate: usage: :Autogate revoke {id} (`:Autogate approvals` lists them)')
    end
    revoke(args[1])
  end,
}

handlers.mode = {
  complete = function(arglead)
    return vim.tbl_filter(function(m)
      return vim.startswith(m, arglead)
    end, config.modes)
  end,
  run = function(args)
    if #args > 1 then
      return ui.error('autogate: usage: :Autogate mode {auto|ask|plan}')
    end
    local function set(mode)
      if not vim.list_contains(config.modes, mode) then
        return ui.error(string.format('autogate: unknown mode `%s`; use one of auto, ask, plan', mode))
      end
      exec('setMode', { mode = mode }, function(result, client)
        state.set_mode(client.id, result.mode or mode)
        ui.notify('autogate: mode ' .. (result.mode or mode))
      end)
    end
    if args[1] then
      return set(args[1])
    end
    vim.ui.select(config.modes, { prompt = 'autogate: mode', kind = 'autogate_mode' }, function(choice)
      if choice then
        set(choice)
      end
    end)
  end,
}

handlers.rollback = {
  run = function(args)
    if #args > 1 then
      return ui.error('autogate: usage: :Autogate rollback [checkpoint]')
    end
    exec('rollback', { checkpoint = args[1] }, function(summary)
      show_summary('rollback', summary)
    end)
  end,
}

handlers.run = {
  run = function(args, opts)
    local task = vim.trim(table.concat(args, ' '))
    if task == '' then
      return ui.error('autogate: usage: :[range]Autogate run {task}: say what to do')
    end
    local params = { task = task }
    local bufnr = vim.api.nvim_get_current_buf()
    if vim.api.nvim_buf_get_name(bufnr) ~= '' then
      params.uri = vim.uri_from_bufnr(bufnr)
    end
    if opts.range and opts.range > 0 then
      params.range = {
        start = { line = opts.line1 - 1, character = 0 },
        ['end'] = { line = opts.line2, character = 0 },
      }
    elseif task:lower():match('^/?rename%s') then
      -- rename works on the symbol under the cursor, in the client's position encoding.
      local client = state.client()
      local encoding = client and client.offset_encoding or 'utf-16'
      local position = vim.lsp.util.make_position_params(0, encoding).position
      params.range = { start = position, ['end'] = position }
    end
    exec('run', params, function(result)
      ui.notify('autogate: task ' .. tostring(result and result.task_id or '?') .. ' started: ' .. task)
    end)
  end,
}

--- The audit trail: the server's `autogate.log` if it has one, else `autogate log` (the CLI) at
--- the workspace root; while neither exists, a plain "not available yet".
handlers.log = {
  run = function(args)
    if #args > 0 then
      return ui.error('autogate: `log` takes no arguments')
    end
    local client = state.client()
    if not client then
      return exec('log', {}) -- says how to start the server
    end
    local provider = client.server_capabilities.executeCommandProvider
    local commands = type(provider) == 'table' and provider.commands or {}
    if vim.list_contains(commands, 'autogate.log') then
      exec('log', {}, function(result)
        ui.scratch('autogate://log', type(result) == 'string' and result or vim.json.encode(result))
      end)
      return
    end
    local cmd = type(client.config.cmd) == 'table' and client.config.cmd or config.cmd()
    local ok, proc = pcall(vim.system, { cmd[1], 'log' }, {
      cwd = client.root_dir,
      text = true,
      timeout = 10000,
    }, vim.schedule_wrap(function(out)
      if out.code == 0 then
        ui.scratch('autogate://log', out.stdout or '')
      elseif (out.stderr or ''):find("unrecognized subcommand 'log'", 1, true) then
        ui.notify('autogate: the audit log is not available yet', vim.log.levels.WARN)
      else
        ui.error('autogate log: ' .. vim.trim(out.stderr ~= '' and out.stderr or ('exit code ' .. out.code)))
      end
    end))
    if not ok then
      ui.error('autogate log: cannot run ' .. tostring(cmd[1]) .. ': ' .. tostring(proc))
    end
  end,
}

--- `:Autogate` entry point.
---@param opts {fargs: string[], range?: integer, line1?: integer, line2?: integer}
function M.run(opts)
  local fargs = vim.deepcopy(opts.fargs or {})
  local sub = table.remove(fargs, 1)
  if not sub then
    return ui.error('autogate: usage: :Autogate {' .. table.concat(SUBCOMMANDS, '|') .. '} [args]')
  end
  local handler = handlers[sub]
  if not handler then
    return ui.error(
      string.format('autogate: unknown subcommand `%s`; use one of %s', sub, table.concat(SUBCOMMANDS, ', '))
    )
  end
  local ok, problem = pcall(handler.run, fargs, opts)
  if not ok then
    ui.error('autogate: ' .. sub .. ' failed: ' .. tostring(problem))
  end
end

--- Completion for `:Autogate`: subcommands, then ids of pending changes or modes.
---@param arglead string
---@param cmdline string
---@param cursorpos integer
---@return string[]
function M.complete(arglead, cmdline, cursorpos)
  -- What follows the command name (after a range or modifiers such as `:silent`).
  local rest = cmdline:sub(1, cursorpos):match('Autog%a*!?%s+(.*)$') or ''
  local words = vim.split(rest, '%s+')
  local finished = #words - 1 -- the last word is `arglead`, perhaps empty
  local candidates = {}
  if finished == 0 then
    candidates = SUBCOMMANDS
  elseif finished == 1 and handlers[words[1]] and handlers[words[1]].complete then
    candidates = handlers[words[1]].complete(arglead)
  end
  return vim.tbl_filter(function(s)
    return vim.startswith(s, arglead)
  end, candidates)
end

M.subcommands = SUBCOMMANDS

return M
