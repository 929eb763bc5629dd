#!/usr/bin/env python3
"""Hook latency as an agent sees it: a process per tool call.

Creates a git repository (branch `feature/x`, so development) with a 10,000-line Rust file,
then times, from process start to exit with the decision printed, `autogate hook claude-code`
answering a PreToolUse `Edit` that changes one line in the body of a private function in the
middle of the file (low, auto: the hook stores the checkpoint and the audit record before it
answers). The same-run baseline is spawning `true`; runs are interleaved. A `Read` (answered
before the workspace is opened) is timed too.

    python3 tests/bench/hook_latency.py target/release/autogate [--runs 40]

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
import time


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


def timed(argv, stdin, cwd):
    """Wall time from spawn to exit (ms); the child's CPU time (user + system) goes to CPU."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, input=stdin, cwd=cwd, capture_output=True)
    wall = (time.perf_counter() - start) * 1e3
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1e3)
    return wall, done


def summary(name, samples):
    samples = sorted(samples)
    p90 = samples[min(len(samples) - 1, int(len(samples) * 0.9))]
    print(f"{name:<34} median {statistics.median(samples):7.2f} ms   p90 {p90:7.2f} ms   (n={len(samples)})")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--runs", type=int, default=40)
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
        git(root, "init", "-q", "-b", "main")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "init")
        git(root, "checkout", "-q", "-b", "feature/x")
        env_root = os.path.realpath(root)

        def edit(n):
            return json.dumps({
                "session_id": "bench", "cwd": env_root, "hook_event_name": "PreToolUse",
                "tool_name": "Edit",
                "tool_input": {
                    "file_path": os.path.join(env_root, "src", "big.rs"),
                    "old_string": f"    let c = a.wrapping_mul({n}) ^ b;\n",
                    "new_string": f"    let c = a.wrapping_mul({n + 1}) ^ b;\n",
                },
            }).encode()

        read = json.dumps({"session_id": "bench", "cwd": env_root, "hook_event_name": "PreToolUse",
                           "tool_name": "Read", "tool_input": {"file_path": path}}).encode()
        # Warm-up: the first run builds the workspace index's store.
        ms, done = timed([binary, "hook", "claude-code"], edit(800), root)
        if done.returncode != 0:
            sys.exit(f"the warm-up edit was not allowed: {done.stdout!r} {done.stderr!r}")
        print(f"first run (cold index)             {ms:7.2f} ms")
        hook, spawn, reads, hook_cpu = [], [], [], []
        middle = 10_000 // 6 // 2
        for i in range(args.runs):
            n = middle + (i % 200) - 100
            ms, done = timed([binary, "hook", "claude-code"], edit(n), root)
            if done.returncode != 0:
                sys.exit(f"run {i}: not allowed: {done.stdout!r} {done.stderr!r}")
            hook.append(ms)
            hook_cpu.append(CPU[-1])
            ms, _ = timed([true], b"", root)
            spawn.append(ms)
            ms, done = timed([binary, "hook", "claude-code"], read, root)
            reads.append(ms)
        summary("hook: 1-line low Edit, 10k lines", hook)
        summary("hook: same, CPU time (user+sys)", hook_cpu)
        summary("hook: Read (not gated)", reads)
        summary("spawn `true`", spawn)
        print(f"hook minus spawn (medians)         {statistics.median(hook) - statistics.median(spawn):7.2f} ms")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
