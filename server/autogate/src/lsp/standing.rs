//! `autogate.approvals` and `autogate.revokeApproval`: the clone's standing approvals, listed
//! and revoked from the editor (the person's connection), as `autogate approvals` does.

use crate::learn::standing::{Store, revoked_record};
use crate::protocol::{ApprovalEntry, ApprovalList};

use super::commands::{CommandError, Context};

/// The store of the workspace.
fn store(ctx: &Context) -> Result<Store, CommandError> {
    let workspace = ctx
        .shared
        .workspace
        .get()
        .ok_or(CommandError::NotInitialized)?;
    Ok(Store::open(workspace.root())?)
}

/// Every standing approval of the clone, expired and ignored ones marked.
pub async fn list(ctx: &Context) -> Result<ApprovalList, CommandError> {
    let store = store(ctx)?;
    tokio::task::spawn_blocking(move || entries(&store))
        .await
        .map_err(|e| CommandError::Internal(e.into()))?
}

fn entries(store: &Store) -> Result<ApprovalList, CommandError> {
    let approvals = store
        .states()?
        .into_iter()
        .map(|(a, state)| ApprovalEntry {
            scope: a.scope.describe(),
            by: a.who,
            made: a.created,
            expires: a.expires,
            change: a.change,
            active: state == crate::learn::standing::State::Active,
            state: state.as_str().to_owned(),
            id: a.id,
        })
        .collect();
    Ok(ApprovalList { approvals })
}

/// Revokes standing approval `id`: removed from the store, recorded in the audit trail as the
/// person's (`source: editor`), and no longer honoured by the gate from the next admission on.
/// Returns the list left.
pub async fn revoke(ctx: &Context, id: &str) -> Result<ApprovalList, CommandError> {
    let store = store(ctx)?;
    let wanted = id.to_owned();
    let removed = tokio::task::spawn_blocking(move || {
        let known = store
            .list()?
            .iter()
            .any(|a| a.id.eq_ignore_ascii_case(&wanted));
        if !known {
            return Ok(Err(CommandError::InvalidParams(format!(
                "no standing approval `{wanted}`; `autogate.approvals` lists them"
            ))));
        }
        store.revoke(&wanted).map(Ok)
    })
    .await
    .map_err(|e| CommandError::Internal(e.into()))???;
    if let Some(mut gate) = ctx.shared.gate() {
        gate.standing.retain(|a| a.id != removed.id);
    }
    let net = ctx.shared.safety().map_err(|e| anyhow::anyhow!(e))?;
    net.audit_records(vec![revoked_record(&removed, "editor")])
        .written()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "standing approval {} is revoked, but the audit trail could not record it: {e}",
                removed.id
            )
        })?;
    ctx.client
        .show_message(
            tower_lsp_server::ls_types::MessageType::INFO,
            format!(
                "autogate: revoked {}: {}",
                removed.id,
                removed.scope.describe()
            ),
        )
        .await;
    let store = self::store(ctx)?;
    tokio::task::spawn_blocking(move || entries(&store))
        .await
        .map_err(|e| CommandError::Internal(e.into()))?
}
