-- The plugin's mirror of the protocol (lua/autogate/protocol.lua) is the server's: the schema the
-- server writes, checked in as docs/protocol.schema.json.

local repo = vim.fs.dirname(vim.fs.dirname(T.plugin))
local schema = vim.json.decode(table.concat(vim.fn.readfile(vim.fs.joinpath(repo, 'docs', 'protocol.schema.json')), '\n'))
local protocol = require('autogate.protocol')

local function sorted(list)
  local copy = vim.deepcopy(list)
  table.sort(copy)
  return copy
end

T.case('the commands are the server\'s', function()
  T.eq(sorted(vim.tbl_keys(schema.commands)), sorted(vim.tbl_values(protocol.commands)), 'commands')
end)

T.case('the statuses are the server\'s', function()
  T.eq(sorted(schema['$defs'].Status.enum), sorted(protocol.statuses), 'statuses')
end)

T.case('the request the plugin answers is the server\'s', function()
  T.eq(true, schema.requests[protocol.save_documents] ~= nil, protocol.save_documents)
end)

T.case('every command the plugin sends is declared (or, like log, asked of the server first)', function()
  local sent = {}
  for _, file in ipairs(vim.fn.globpath(vim.fs.joinpath(T.plugin, 'lua', 'autogate'), '*.lua', false, true)) do
    for name in table.concat(vim.fn.readfile(file), '\n'):gmatch("exec%('(%w+)'") do
      sent[name] = true
    end
  end
  sent.log = nil
  T.eq(true, next(sent) ~= nil, 'the plugin sends commands')
  for name in pairs(sent) do
    T.eq(true, protocol.commands[name] ~= nil, 'exec(' .. name .. ')')
  end
end)
