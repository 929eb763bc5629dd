//! Verification after a batch, over the real protocol: pass, fail and roll back, time limit,
//! cancel, and clients that save on request.
#![allow(clippy::unwrap_used)]

use crate::support::{TestClient, edit, full_caps, helix_caps, read, root, workspace};
use serde_json::{Value, json};

fn policy(run: &str, timeout: u64) -> String {
    format!("[verify]\ncommands = [{{ run = {run:?}, timeout_secs = {timeout} }}]\n")
}

/// Waits until `n` progress reports have ended; returns the last end message.
async fn wait_progress_end(client: &mut TestClient, n: usize) -> String {
    for _ in 0..200 {
        let ends: Vec<&Value> = client
            .progress
            .iter()
            .filter(|p| p["value"]["kind"] == json!("end"))
            .collect();
        if ends.len() >= n {
            return ends[n - 1]["value"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
        }
        client.settle(50).await;
    }
    panic!("no progress end: {:#?}", client.progress)
}

async fn status_of(client: &mut TestClient, id: &str) -> Value {
    client
        .command("autogate.explain", json!({ "id": id }))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_passing_verification_keeps_the_batch_and_a_failing_one_rolls_it_back() {
    let dir = workspace(&[
        ("a.txt", "fine\n"),
        (
            ".autogate.toml",
            &policy("! grep -q BROKEN a.txt && echo checked", 10),
        ),
    ]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    let uri = client.uri("a.txt");
    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [0, 0, 0, 4], "good") }),
        )
        .await
        .unwrap();
    assert_eq!(summary["changes"][0]["status"], json!("applied"));
    // Verification reports through $/progress; its end says how it went.
    let end = wait_progress_end(&mut client, 1).await;
    assert!(end.contains("passed"), "{end}");
    let explained = status_of(&mut client, "1").await;
    assert_eq!(explained["status"], json!("applied"));
    assert!(
        explained["notes"]
            .to_string()
            .contains("verified: `! grep -q BROKEN a.txt && echo checked` passed"),
        "{explained:#}"
    );

    let summary = client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [0, 0, 0, 4], "BROKEN") }),
        )
        .await
        .unwrap();
    assert_eq!(
        summary["changes"][0]["status"],
        json!("applied"),
        "applied, then verified"
    );
    let message = client.wait_message("verification failed").await;
    assert!(
        message.contains("failed (exit 1)") && message.contains("rolled back"),
        "{message}"
    );
    assert_eq!(
        read(&root, "a.txt").unwrap(),
        "good\n",
        "restored to the state before the batch"
    );
    let explained = status_of(&mut client, "2").await;
    assert_eq!(explained["status"], json!("failed"));
    // The audit trail keeps the verification result.
    let log = std::fs::read_to_string(root.join(".autogate/audit.jsonl")).unwrap();
    let last: Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], json!("failed"));
    assert_eq!(last["verification"]["passed"], json!(false));
    assert_eq!(last["verification"]["commands"][0]["exit"], json!(1));
    client.settle(100).await;
    client.shutdown().await;
}

#[tokio::test]
async fn an_open_buffer_is_written_for_verification_and_restored_with_the_disk() {
    let dir = workspace(&[
        ("a.txt", "fine\n"),
        (".autogate.toml", &policy("! grep -q BROKEN a.txt", 10)),
    ]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    client.open("a.txt", "fine\n").await;
    let uri = client.uri("a.txt");
    client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, Some(1), [0, 0, 0, 4], "BROKEN") }),
        )
        .await
        .unwrap();
    client.wait_message("verification failed").await;
    client.settle(100).await;
    assert_eq!(
        client.text("a.txt").unwrap(),
        "fine\n",
        "the buffer follows the rollback"
    );
    assert_eq!(
        read(&root, "a.txt").unwrap(),
        "fine\n",
        "and so does the disk"
    );
    client.shutdown().await;
}

#[tokio::test]
async fn a_client_that_saves_on_request_is_asked_to_save() {
    let dir = workspace(&[
        ("a.txt", "fine\n"),
        (".autogate.toml", &policy("grep -q good a.txt", 10)),
    ]);
    let root = root(&dir);
    let mut caps = full_caps();
    caps["experimental"] = json!({ "autogate": { "saveDocuments": true } });
    let mut client = TestClient::start(&root, caps, Value::Null).await;
    client.open("a.txt", "fine\n").await;
    let uri = client.uri("a.txt");
    client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, Some(1), [0, 0, 0, 4], "good") }),
        )
        .await
        .unwrap();
    let explained = status_of(&mut client, "1").await;
    assert_eq!(explained["status"], json!("applied"), "{explained:#}");
    assert_eq!(client.saved, vec![uri.clone()]);
    assert_eq!(read(&root, "a.txt").unwrap(), "good\n");
    client.settle(100).await;
    client.shutdown().await;
}

#[tokio::test]
async fn a_verification_over_its_time_limit_or_cancelled_rolls_back() {
    let dir = workspace(&[("a.txt", "a\n"), (".autogate.toml", &policy("sleep 30", 1))]);
    let root = root(&dir);
    let mut client = TestClient::start(&root, helix_caps(), Value::Null).await;
    let uri = client.uri("a.txt");
    client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [0, 0, 0, 1], "b") }),
        )
        .await
        .unwrap();
    let message = client.wait_message("verification failed").await;
    assert!(
        message.contains("did not finish within its time limit"),
        "{message}"
    );
    assert_eq!(read(&root, "a.txt").unwrap(), "a\n");
    client.shutdown().await;

    let dir = workspace(&[
        ("a.txt", "a\n"),
        (".autogate.toml", &policy("sleep 30", 60)),
    ]);
    let root = crate::support::root(&dir);
    let mut client = TestClient::start(&root, full_caps(), Value::Null).await;
    let uri = client.uri("a.txt");
    client
        .command(
            "autogate.proposeEdit",
            json!({ "edit": edit(&uri, None, [0, 0, 0, 1], "b") }),
        )
        .await
        .unwrap();
    let token = loop {
        client.settle(100).await;
        if let Some(p) = client
            .progress
            .iter()
            .find(|p| p["value"]["kind"] == json!("begin"))
        {
            break p["token"].clone();
        }
    };
    assert!(token.as_str().unwrap().starts_with("autogate-verify-"));
    client
        .notify("window/workDoneProgress/cancel", json!({ "token": token }))
        .await;
    let message = client.wait_message("verification failed").await;
    assert!(message.contains("was cancelled"), "{message}");
    assert_eq!(read(&root, "a.txt").unwrap(), "a\n");
    client.shutdown().await;
}
