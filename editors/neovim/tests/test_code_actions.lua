-- The diagnostics of pending changes and their code actions, through Neovim's own LSP UI.

local MANIFEST = '[package]\nname = "x"\nversion = "0.1.0"\n'
T.write({ ['Cargo.toml'] = MANIFEST })
require('autogate').setup({ cmd = { T.bin } })

local function actions(bufnr)
  local got
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    range = { start = { line = 0, character = 0 }, ['end'] = { line = 3, character = 0 } },
    context = { diagnostics = {} },
  }
  T.client():request('textDocument/codeAction', params, function(_, result)
    got = result or {}
  end, bufnr)
  T.wait(function()
    return got ~= nil
  end, 'code actions')
  return got
end

T.case('a pending change is a diagnostic with Approve/Reject/Show diff code actions', function()
  local bufnr = T.open('Cargo.toml')
  T.propose(T.edit('Cargo.toml', 1, 0, 2, 0, 'name = "y"\n'))
  T.prompt('the approval prompt').dismiss()
  local diags
  T.wait(function()
    diags = vim.diagnostic.get(bufnr)
    return #diags == 1
  end, 'the diagnostic')
  T.eq({ 'autogate', 'change-1', 1 }, { diags[1].source, diags[1].code, diags[1].lnum }, 'source/code/line')
  local titles = vim.tbl_map(function(a)
    return a.title
  end, actions(bufnr))
  T.eq({
    'Approve change 1 (high)',
    'Reject change 1',
    'Show diff of change 1',
    'autogate: tidy this file',
    'autogate: document this file',
    'autogate: format this file',
  }, titles, 'titles')
end)

T.case('"Show diff of change 1" opens the diff float', function()
  local bufnr = T.open('Cargo.toml')
  vim.lsp.buf.code_action({
    apply = true,
    filter = function(a)
      return a.title == 'Show diff of change 1'
    end,
  })
  T.wait(function()
    local buf = vim.api.nvim_get_current_buf()
    return vim.bo[buf].filetype == 'diff'
      and vim.list_contains(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '+name = "y"')
  end, 'the diff float')
  T.cmd('close')
  T.eq(bufnr, vim.api.nvim_get_current_buf(), 'back in Cargo.toml')
end)

T.case('"Approve change 1" applies it and clears the diagnostic', function()
  local bufnr = T.open('Cargo.toml')
  vim.lsp.buf.code_action({
    apply = true,
    filter = function(a)
      return a.title == 'Approve change 1 (high)'
    end,
  })
  T.wait_text(bufnr, '[package]\nname = "y"\nversion = "0.1.0"\n', 'the approved change')
  T.wait(function()
    return #vim.diagnostic.get(bufnr) == 0
  end, 'the diagnostic to clear')
  T.statusline('autogate:auto')
end)
