-- Messages and the diff float.

local M = {}

---@param msg string
---@param level? integer
function M.notify(msg, level)
  vim.notify(msg, level or vim.log.levels.INFO, { title = 'autogate' })
end

---@param msg string
function M.error(msg)
  M.notify(msg, vim.log.levels.ERROR)
end

--- Shows text in a read-only scratch split.
---@param name string
---@param text string
---@return integer buf
function M.scratch(name, text)
  vim.cmd('botright new')
  local buf = vim.api.nvim_get_current_buf()
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, vim.split(vim.trim(text), '\n', { plain = true }))
  vim.bo[buf].buftype = 'nofile'
  vim.bo[buf].bufhidden = 'wipe'
  vim.bo[buf].modifiable = false
  pcall(vim.api.nvim_buf_set_name, buf, name)
  return buf
end

---@type integer?
local diff_win

--- Opens a change's unified diff in a floating window (`q` or `<Esc>` closes it).
---@param id string
---@param diff string
---@param info? {level?: string, status?: string, decision?: string, reasons?: string[]} from `autogate.explain`
---@return integer win
---@return integer buf
function M.open_diff(id, diff, info)
  if diff_win and vim.api.nvim_win_is_valid(diff_win) then
    vim.api.nvim_win_close(diff_win, true)
  end
  local lines = vim.split(diff, '\n', { plain = true })
  if lines[#lines] == '' then
    lines[#lines] = nil
  end
  if #lines == 0 then
    lines = { '(empty diff)' }
  end
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].bufhidden = 'wipe'
  vim.bo[buf].modifiable = false
  vim.bo[buf].filetype = 'diff'
  pcall(vim.api.nvim_buf_set_name, buf, 'autogate://change/' .. id .. '.diff')

  local width = 20
  for _, l in ipairs(lines) do
    width = math.max(width, vim.fn.strdisplaywidth(l))
  end
  width = math.min(width + 2, math.max(20, math.floor(vim.o.columns * 0.9)))
  local height = math.min(#lines, math.max(3, math.floor(vim.o.lines * 0.8)))
  local title = ' autogate change ' .. id .. ' '
  local footer ---@type string?
  if info then
    local parts = vim.tbl_filter(function(p)
      return p ~= nil
    end, { info.level, info.status, info.decision and ('decision ' .. info.decision) })
    if #parts > 0 then
      title = string.format(' autogate change %s: %s ', id, table.concat(parts, ', '))
    end
    if info.reasons and #info.reasons > 0 then
      footer = ' ' .. table.concat(info.reasons, '; ') .. ' '
      if vim.fn.strdisplaywidth(footer) > width - 2 then
        footer = vim.fn.strcharpart(footer, 0, width - 4) .. '… '
      end
    end
  end
  diff_win = vim.api.nvim_open_win(buf, true, {
    relative = 'editor',
    width = width,
    height = height,
    row = math.max(0, math.floor((vim.o.lines - height) / 2) - 1),
    col = math.max(0, math.floor((vim.o.columns - width) / 2)),
    style = 'minimal',
    border = 'rounded',
    title = title,
    title_pos = 'center',
    footer = footer,
    footer_pos = footer and 'center' or nil,
  })
  for _, key in ipairs({ 'q', '<Esc>' }) do
    vim.keymap.set('n', key, '<Cmd>close<CR>', { buffer = buf, nowait = true, desc = 'Close the diff' })
  end
  return diff_win, buf
end

--- Whether the diff float is open.
---@return boolean
function M.diff_open()
  return diff_win ~= nil and vim.api.nvim_win_is_valid(diff_win)
end

--- Calls `fn` once the diff float has closed (at once if none is open).
---@param fn fun()
function M.after_diff(fn)
  if not M.diff_open() then
    return fn()
  end
  vim.api.nvim_create_autocmd('WinClosed', {
    pattern = tostring(diff_win),
    once = true,
    desc = 'autogate: ask again once the diff is read',
    callback = function()
      vim.schedule(fn)
    end,
  })
end

return M
