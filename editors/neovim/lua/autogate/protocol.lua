-- The custom protocol, mirrored from the server (`server/autogate/src/protocol.rs`), which writes
-- it as `docs/protocol.schema.json`; `tests/test_protocol.lua` checks this module against it.

local M = {}

--- The `autogate.*` commands of `workspace/executeCommand`, by the plugin's short name.
M.commands = {
  proposeEdit = 'autogate.proposeEdit',
  applyPatch = 'autogate.applyPatch',
  run = 'autogate.run',
  pending = 'autogate.pending',
  approve = 'autogate.approve',
  approveAlways = 'autogate.approveAlways',
  reject = 'autogate.reject',
  explain = 'autogate.explain',
  diff = 'autogate.diff',
  rollback = 'autogate.rollback',
  setMode = 'autogate.setMode',
  approvals = 'autogate.approvals',
  revokeApproval = 'autogate.revokeApproval',
}

--- Where a change stands, as a Summary says it.
M.statuses = { 'applied', 'pending', 'approved', 'rejected', 'denied', 'failed', 'rolled_back', 'planned' }

--- The server's request to save documents before verification.
M.save_documents = 'autogate/saveDocuments'

return M
