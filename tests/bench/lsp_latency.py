#!/usr/bin/env python3
"""Gate latency as an editor sees it: a client outside the server process.

Starts the real `autogate lsp` over a pipe, opens a 10,000-line Rust file, and times, for 1-line
body changes in the middle of it, `workspace/executeCommand autogate.proposeEdit` until the
server's `workspace/applyEdit` request arrives (the moment an editor starts applying the edit).
The same-run baseline is a no-op command round trip (`autogate.pending`).

After each applyEdit the client does what editors do: it applies the edit to its copy, answers
`applied: true`, and sends `textDocument/didChange` with the new version, either as an
incremental change (VS Code, Neovim) or as the full text (`--full-sync`).

    python3 tests/bench/lsp_latency.py target/release/autogate [--runs 60] [--git] [--full-sync]

Prints the median and p90 of each. Standard library only.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import steps


def rust_file(lines):
    """Whole functions of 6 lines each, so that the file parses without errors."""
    out = []
    n = 0
    while n * 6 < lines:
        out.append(
            f"/// Function {n}.\npub fn function_{n}(a: u64, b: u64) -> u64 {{\n"
            f"    let c = a.wrapping_mul({n}) ^ b;\n"
            f"    if c % 3 == 0 {{ c / 3 }} else {{ c + {n} }}\n}}\n\n"
        )
        n += 1
    return "".join(out)


SERVER_LOG = None


class Conn:
    def __init__(self, binary, root):
        env = dict(os.environ, AUTOGATE_LOG="error")
        if SERVER_LOG:
            # The server's own step timings (intake, admitted, checkpointed, applyEdit), at debug.
            env.update(AUTOGATE_LOG="autogate=debug", AUTOGATE_LOG_FILE=SERVER_LOG)
        env.pop("AUTOGATE_ENV", None)
        self.proc = subprocess.Popen(
            [binary, "lsp"],
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self.next_id = 1

    def send(self, message):
        body = json.dumps(message).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def recv(self):
        length = 0
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise EOFError("the server closed its output")
            line = line.strip()
            if not line:
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return json.loads(self.proc.stdout.read(length))

    def request(self, method, params):
        rid = self.next_id
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        return rid

    def until_response(self, rid):
        while True:
            m = self.recv()
            if m.get("id") == rid and "method" not in m:
                return m

    def close(self):
        rid = self.request("shutdown", None)
        self.until_response(rid)
        self.send({"jsonrpc": "2.0", "method": "exit"})
        self.proc.wait(timeout=10)


def offset(text, line, character):
    """Byte offset of an LSP position (the file is ASCII: UTF-16 units are bytes)."""
    at = 0
    for _ in range(line):
        at = text.index("\n", at) + 1
    return at + character


def measure(binary, root, runs, full_sync):
    text = rust_file(10_000)
    with open(os.path.join(root, "big.rs"), "w") as f:
        f.write(text)
    conn = Conn(binary, root)
    uri = "file://" + os.path.join(root, "big.rs")
    rid = conn.request(
        "initialize",
        {
            "processId": None,
            "rootUri": "file://" + root,
            "capabilities": {
                "workspace": {"applyEdit": True, "workspaceEdit": {"documentChanges": True}},
                "general": {"positionEncodings": ["utf-16"]},
            },
        },
    )
    conn.until_response(rid)
    conn.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    conn.send(
        {
            "jsonrpc": "2.0",
            "method": "textDocument/didOpen",
            "params": {"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": text}},
        }
    )
    # As an editor that opened the folder a moment ago: the workspace index is built first.
    while True:
        m = conn.recv()
        if m.get("method") == "window/logMessage" and "workspace index built" in m["params"]["message"]:
            break
    version = 1
    latency, noop = [], []
    cpu_before = server_cpu(conn.proc.pid)
    for i in range(runs):
        start = time.perf_counter()
        rid = conn.request(
            "workspace/executeCommand", {"command": "autogate.pending", "arguments": [{}]}
        )
        conn.until_response(rid)
        noop.append(time.perf_counter() - start)

        line = 5002 + (i % 2) * 6
        edit = {
            "documentChanges": [
                {
                    "textDocument": {"uri": uri, "version": version},
                    "edits": [
                        {
                            "range": {
                                "start": {"line": line, "character": 0},
                                "end": {"line": line + 1, "character": 0},
                            },
                            "newText": f"    let c = a.wrapping_mul({7 + i}) ^ b;\n",
                        }
                    ],
                }
            ]
        }
        start = time.perf_counter()
        rid = conn.request(
            "workspace/executeCommand",
            {"command": "autogate.proposeEdit", "arguments": [{"edit": edit}]},
        )
        answered = False
        while not answered:
            m = conn.recv()
            if m.get("method") == "workspace/applyEdit":
                latency.append(time.perf_counter() - start)
                changes = []
                for doc in m["params"]["edit"]["documentChanges"]:
                    # Applied from the last edit backwards, as editors do.
                    for e in sorted(
                        doc["edits"],
                        key=lambda e: (e["range"]["start"]["line"], e["range"]["start"]["character"]),
                        reverse=True,
                    ):
                        s, t = e["range"]["start"], e["range"]["end"]
                        a, b = offset(text, s["line"], s["character"]), offset(text, t["line"], t["character"])
                        text = text[:a] + e["newText"] + text[b:]
                        changes.append({"range": e["range"], "text": e["newText"]})
                version += 1
                conn.send({"jsonrpc": "2.0", "id": m["id"], "result": {"applied": True}})
                content = [{"text": text}] if full_sync else changes
                conn.send(
                    {
                        "jsonrpc": "2.0",
                        "method": "textDocument/didChange",
                        "params": {"textDocument": {"uri": uri, "version": version}, "contentChanges": content},
                    }
                )
            elif m.get("id") == rid and "method" not in m:
                answered = True
                status = m.get("result", {}).get("changes", [{}])[0].get("status")
                if status != "applied":
                    raise SystemExit(f"run {i}: the change was not applied: {m}")
    # Work left after the last answer (verification, pruning, folding) counts too.
    time.sleep(1)
    cpu = server_cpu(conn.proc.pid) - cpu_before
    print(f"server CPU time (user + system) per proposal: {cpu * 1000 / runs:.2f} ms "
          "(a loaded machine does not inflate it as it does wall time)")
    conn.close()
    return latency, noop


def server_cpu(pid):
    """The server process's CPU time so far (user + system), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(what, samples):
    ms = sorted(s * 1000 for s in samples)
    p90 = ms[int(len(ms) * 0.9)]
    print(f"{what}: median {statistics.median(ms):.2f} ms, p90 {p90:.2f} ms ({len(ms)} runs)")


def git(root, *args):
    env = dict(os.environ, GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")
    subprocess.run(["git", *args], cwd=root, check=True, env=env, capture_output=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binary")
    ap.add_argument("--runs", type=int, default=60)
    ap.add_argument("--git", action="store_true", help="in a git repository, on a feature branch")
    ap.add_argument("--full-sync", action="store_true", help="didChange with the full text")
    ap.add_argument("--server-log", metavar="FILE",
                    help="the server logs its step timings to FILE, and their medians are printed")
    args = ap.parse_args()
    global SERVER_LOG
    SERVER_LOG = args.server_log and os.path.abspath(args.server_log)
    binary = os.path.abspath(args.binary)
    root = os.path.realpath(tempfile.mkdtemp(prefix="autogate-latency-"))
    try:
        if args.git:
            with open(os.path.join(root, "big.rs"), "w") as f:
                f.write(rust_file(10_000))
            git(root, "init", "-q", "-b", "feature")
            git(root, "add", "big.rs")
            git(root, "-c", "user.name=Bench", "-c", "user.email=bench@example.invalid", "commit", "-qm", "big")
        latency, noop = measure(binary, root, args.runs, args.full_sync)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    where = "git repository, feature branch" if args.git else "folder without git"
    sync = "full-text didChange" if args.full_sync else "incremental didChange"
    report(f"proposeEdit -> applyEdit ({where}, {sync})", latency)
    report("  baseline, no-op command round trip", noop)
    if SERVER_LOG:
        server_steps(SERVER_LOG)


def server_steps(log):
    """Medians of the server's own step timings (ms since the command started, per step)."""
    steps.print_medians(log, r"(intake|gate: [a-z ]+|apply: [a-zA-Z ]+) ms=([0-9.]+)", "  server: ", 32)


if __name__ == "__main__":
    sys.exit(main())
