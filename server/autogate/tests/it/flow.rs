//! Control flow through the real protocol: an agent's patch that removes a guard or returns
//! success before the checks is held for the person in development, with a reason that names
//! what it removed; an ordinary edit of the same code is applied.
#![allow(clippy::unwrap_used)]

use crate::support::{TestClient, full_caps, read, repo, root};
use serde_json::{Value, json};

const AUTH: &str = "\
import logging

log = logging.getLogger(__name__)


def handle_login(request, user):
    if not user.is_authenticated:
        raise PermissionDenied(\"login required\")
    session = request.session
    session[\"user\"] = user.id
    return session
";

const VERIFY: &str = "\
export namespace Tokens {
  export function verifyToken(token: string, key: Uint8Array): boolean {
    if (token.length === 0) {
      throw new Error(\"empty token\");
    }
    return compare(token, key);
  }
}
";

/// A unified diff of one file, as an agent sends it.
fn patch(path: &str, before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

async fn propose(client: &mut TestClient, path: &str, before: &str, after: &str) -> Value {
    let summary = client
        .command(
            "autogate.applyPatch",
            json!({ "patch": patch(path, before, after), "source": "agent" }),
        )
        .await
        .unwrap();
    summary["changes"][0].clone()
}

#[tokio::test]
async fn a_removed_guard_and_an_early_success_are_held_and_a_reworded_message_is_applied() {
    let dir = repo(&[("app/auth.py", AUTH), ("src/verify.ts", VERIFY)]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;

    // The guard that rejects unauthenticated users, deleted.
    let without_guard = AUTH.replace(
        "    if not user.is_authenticated:\n        raise PermissionDenied(\"login required\")\n",
        "",
    );
    let c = propose(&mut client, "app/auth.py", AUTH, &without_guard).await;
    assert_eq!(
        (c["decision"].as_str(), c["status"].as_str()),
        (Some("ask"), Some("pending")),
        "{c:#}"
    );
    assert!(
        c["reasons"]
            .to_string()
            .contains("removes the check that rejects in `handle_login`"),
        "{c:#}"
    );
    assert_eq!(read(&root, "app/auth.py").unwrap(), AUTH, "nothing written");
    let prompt = client.expect("window/showMessageRequest").await;
    client.reply(&prompt, json!({ "title": "Reject" })).await;
    client.settle(200).await;
    assert_eq!(read(&root, "app/auth.py").unwrap(), AUTH);

    // Success returned before the checks of a namespace member.
    let early = VERIFY.replace("boolean {\n", "boolean {\n    return true;\n");
    let c = propose(&mut client, "src/verify.ts", VERIFY, &early).await;
    assert_eq!(c["decision"], json!("ask"), "{c:#}");
    let reasons = c["reasons"].to_string();
    assert!(
        reasons.contains("returns success before the checks of `verifyToken`"),
        "{c:#}"
    );
    assert!(reasons.contains("Tokens::verifyToken"), "{c:#}");
    let prompt = client.expect("window/showMessageRequest").await;
    client.reply(&prompt, json!({ "title": "Reject" })).await;
    client.settle(200).await;
    assert_eq!(read(&root, "src/verify.ts").unwrap(), VERIFY);

    // The guard's message reworded: an ordinary edit, applied.
    let reworded = AUTH.replace("\"login required\"", "\"please sign in first\"");
    let c = propose(&mut client, "app/auth.py", AUTH, &reworded).await;
    assert_eq!(
        (c["decision"].as_str(), c["status"].as_str()),
        (Some("auto"), Some("applied")),
        "{c:#}"
    );
    client.settle(200).await;
    assert_eq!(read(&root, "app/auth.py").unwrap(), reworded);
    client.shutdown().await;
}
