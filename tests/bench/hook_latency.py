#!/usr/bin/env python3
"""Hook latency as an agent sees it: a process per tool call.

Creates a git repository (branch `feature/x`, so development) with a 10,000-line Rust file,
then times, from process start to exit with the decision printed, `autogate hook claude-code`
answering a PreToolUse `Edit` that changes one line in the body of a private function in the
middle of the file (low, auto: the hook stores the checkpoint and the audit record before it
answers). The same-run baseline is spawning `true`; runs are interleaved. A `Read` (answered
before the workspace is opened) is timed too.

With `--session`, an editor session (`autogate lsp`, driven over its pipes as an editor would)
runs on the workspace, so the hook hands the call to it; the same edit is timed with
`AUTOGATE_HOOK_LOCAL=1` too (the hook runs the door itself), interleaved.

    python3 tests/bench/hook_latency.py target/release/autogate [--runs 40] [--session] [--apply]

With `--apply`, each allowed edit is written, as the agent's tool would, so that the next edit
starts from the text the last one left (an agent working through a file).

Prints the median and p90 of each, in milliseconds, and the hook's CPU time (which a loaded
machine does not inflate the way it inflates wall time). Standard library only.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import steps


def rust_file(lines):
    """Whole private functions of 6 lines each, so that the file parses without errors."""
    out = []
    n = 0
    while n * 6 < lines:
        out.append(
            f"/// Function {n}.\nfn function_{n}(a: u64, b: u64) -> u64 {{\n"
            f"    let c = a.wrapping_mul({n}) ^ b;\n"
            f"    if c % 3 == 0 {{ c / 3 }} else {{ c + {n} }}\n}}\n\n"
        )
        n += 1
    return "".join(out)


def git(root, *args):
    subprocess.run(
        ["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.com",
         "-c", "commit.gpgsign=false", *args],
        cwd=root, check=True, capture_output=True,
        env={**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null"},
    )


CPU = []


def timed(argv, stdin, cwd, local=False):
    """Wall time from spawn to exit (ms); the child's CPU time (user + system) goes to CPU.
    `local`: with AUTOGATE_HOOK_LOCAL=1 (the hook runs the door itself)."""
    env = dict(os.environ, AUTOGATE_HOOK_LOCAL="1") if local else None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, input=stdin, cwd=cwd, capture_output=True, env=env)
    wall = (time.perf_counter() - start) * 1e3
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1e3)
    return wall, done


class Session:
    """An editor session on `root`: `autogate lsp`, initialized, its messages drained (requests
    answered with null), until the workspace's session socket answers."""

    def __init__(self, binary, root, log=None):
        env = dict(os.environ, AUTOGATE_LOG="error")
        if log:
            # The door's own timings (intake, admitted, checkpoint, settled), at debug.
            env.update(AUTOGATE_LOG="autogate=debug", AUTOGATE_LOG_FILE=log)
        self.proc = subprocess.Popen([binary, "lsp"], cwd=root, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        self.lock = threading.Lock()
        self.initialized = threading.Event()
        threading.Thread(target=self.drain, daemon=True).start()
        self.send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "processId": None, "rootUri": "file://" + root,
            "capabilities": {"workspace": {"applyEdit": True}}}})
        if not self.initialized.wait(30):
            sys.exit("the session did not initialize")
        self.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        socket = os.path.join(root, ".git", "autogate", "session.sock")
        for _ in range(300):
            if os.path.exists(socket):
                break
            time.sleep(0.05)
        else:
            sys.exit("the session never listened for hooks")

    def send(self, message):
        body = json.dumps(message).encode()
        with self.lock:
            self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.proc.stdin.flush()

    def drain(self):
        out = self.proc.stdout
        while True:
            length = 0
            while True:
                line = out.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            message = json.loads(out.read(length))
            if message.get("id") == 1 and "method" not in message:
                self.initialized.set()
            elif "id" in message and "method" in message:
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})

    def close(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def summary(name, samples):
    samples = sorted(samples)
    p90 = samples[min(len(samples) - 1, int(len(samples) * 0.9))]
    print(f"{name:<34} median {statistics.median(samples):7.2f} ms   p90 {p90:7.2f} ms   (n={len(samples)})")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--session-log", metavar="FILE",
                        help="with --session: the session logs its door's timings to FILE, "
                             "and their medians are printed")
    parser.add_argument("--session", action="store_true",
                        help="run an editor session on the workspace (the hook hands its call to it)")
    parser.add_argument("--apply", action="store_true",
                        help="write each allowed edit, as the agent's tool does, so that the next "
                             "edit starts from it (the runs of the hook alone edit a second file)")
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    true = shutil.which("true") or "/bin/true"
    root = tempfile.mkdtemp(prefix="autogate-hook-bench-")
    try:
        os.makedirs(os.path.join(root, "src"))
        text = rust_file(10_000)
        path = os.path.join(root, "src", "big.rs")
        with open(path, "w") as f:
            f.write(text)
        # The file the runs of the hook alone edit with --apply (the session's stays its own).
        other = os.path.join(root, "src", "other.rs")
        with open(other, "w") as f:
            f.write(text)
        git(root, "init", "-q", "-b", "main")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "init")
        git(root, "checkout", "-q", "-b", "feature/x")
        env_root = os.path.realpath(root)

        def edit(n, name="big.rs"):
            return json.dumps({
                "session_id": "bench", "cwd": env_root, "hook_event_name": "PreToolUse",
                "tool_name": "Edit",
                "tool_input": {
                    "file_path": os.path.join(env_root, "src", name),
                    "old_string": f"    let c = a.wrapping_mul({n}) ^ b;\n",
                    "new_string": new_line(n),
                },
            }).encode()

        def new_line(n):
            # With --apply the line must stay unique in the file: n + 1 is the next function's.
            if args.apply:
                return f"    let c = a.wrapping_mul({n}) ^ b ^ 1;\n"
            return f"    let c = a.wrapping_mul({n + 1}) ^ b;\n"

        def write(n, name="big.rs"):
            """What the agent's tool does once the hook allowed edit(n)."""
            if not args.apply:
                return
            file = os.path.join(env_root, "src", name)
            with open(file) as f:
                current = f.read()
            old = f"    let c = a.wrapping_mul({n}) ^ b;\n"
            with open(file, "w") as f:
                f.write(current.replace(old, new_line(n), 1))

        read = json.dumps({"session_id": "bench", "cwd": env_root, "hook_event_name": "PreToolUse",
                           "tool_name": "Read", "tool_input": {"file_path": path}}).encode()
        session = Session(binary, env_root, args.session_log) if args.session else None
        # Warm-up: the first run builds the workspace index's store.
        ms, done = timed([binary, "hook", "claude-code"], edit(800), root)
        if done.returncode != 0:
            sys.exit(f"the warm-up edit was not allowed: {done.stdout!r} {done.stderr!r}")
        print(f"first run (cold index)             {ms:7.2f} ms")
        hook, spawn, reads, hook_cpu, local = [], [], [], [], []
        middle = 10_000 // 6 // 2
        if args.apply and args.runs > 200:
            sys.exit("--apply edits each line once: at most 200 runs")
        for i in range(args.runs):
            # With --apply, each run edits a line no run edited before.
            n = middle + i - 100 if args.apply else middle + (i % 200) - 100
            ms, done = timed([binary, "hook", "claude-code"], edit(n), root)
            if done.returncode != 0:
                sys.exit(f"run {i}: not allowed: {done.stdout!r} {done.stderr!r}")
            write(n)
            hook.append(ms)
            hook_cpu.append(CPU[-1])
            ms, _ = timed([true], b"", root)
            spawn.append(ms)
            ms, done = timed([binary, "hook", "claude-code"], read, root)
            reads.append(ms)
            if session:
                n = middle + 300 + (i % 200) - 100
                name = "other.rs" if args.apply else "big.rs"
                ms, done = timed([binary, "hook", "claude-code"], edit(n, name), root, local=True)
                if done.returncode != 0:
                    sys.exit(f"run {i}: not allowed in the hook: {done.stdout!r} {done.stderr!r}")
                write(n, name)
                local.append(ms)
        if session:
            session.close()
            summary("hook, handed to the session", hook)
            summary("same, CPU time of the hook process", hook_cpu)
            summary("hook running the door itself", local)
        else:
            summary("hook: 1-line low Edit, 10k lines", hook)
        if not session:
            summary("hook: same, CPU time (user+sys)", hook_cpu)
        summary("hook: Read (not gated)", reads)
        summary("spawn `true`", spawn)
        print(f"hook minus spawn (medians)         {statistics.median(hook) - statistics.median(spawn):7.2f} ms")
        if session and args.session_log:
            door_timings(args.session_log)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def door_timings(log):
    """Medians of the session door's own timings (ms since the call started, per step; the
    checkpoint step is its own duration)."""
    steps.print_medians(log, r"door: (\w+) ms=([0-9.]+)", "session door: ", 20)


if __name__ == "__main__":
    main()
