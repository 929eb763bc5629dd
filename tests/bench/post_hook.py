#!/usr/bin/env python3
"""The hook after the tool, and what the checkpoint store keeps: 40 low edits through
`autogate hook claude-code` (a hook before and after each, AUTOGATE_HOOK_LOCAL=1) on a
2,000-function Rust file in a fresh git repository; prints the median and p90 of the hook
after the tool, and the packs and checkpoints left.

Usage: python3 tests/bench/post_hook.py target/release/autogate"""
import json, os, subprocess, sys, tempfile, time, statistics, shutil
binary = os.path.abspath(sys.argv[1])
root = tempfile.mkdtemp()
def git(*a): subprocess.run(["git", *a], cwd=root, check=True, capture_output=True)
git("init", "-q"); git("config", "user.email", "a@b"); git("config", "user.name", "a")
os.makedirs(os.path.join(root, "src"))
lines = "".join(f"fn f{i}() -> i32 {{\n    {i}\n}}\n" for i in range(2000))
open(os.path.join(root, "src/lib.rs"), "w").write(lines)
git("add", "."); git("commit", "-qm", "x")
env = dict(os.environ, AUTOGATE_HOOK_LOCAL="1", AUTOGATE_LOG="error")
path = os.path.join(root, "src/lib.rs")
post = []
for i in range(40):
    old, new = f"    {i}\n", f"    {i + 1000}\n"
    for event in ["PreToolUse", "PostToolUse"]:
        payload = {"session_id": "s", "cwd": root, "hook_event_name": event, "tool_name": "Edit",
                   "tool_input": {"file_path": path, "old_string": old, "new_string": new}}
        if event == "PostToolUse":
            text = open(path).read().replace(old, new, 1)
            open(path, "w").write(text)
        t = time.perf_counter()
        done = subprocess.run([binary, "hook", "claude-code"], input=json.dumps(payload).encode(), cwd=root, env=env, capture_output=True)
        ms = (time.perf_counter() - t) * 1e3
        if done.returncode != 0: sys.exit(f"{event} {i}: {done.stdout} {done.stderr}")
        if event == "PostToolUse": post.append(ms)
packs = len([f for f in os.listdir(os.path.join(root, ".git/objects/pack")) if f.endswith(".pack")])
refs = subprocess.run(["git", "for-each-ref", "refs/autogate/checkpoints/"], cwd=root, capture_output=True, text=True).stdout.count("\n")
post_sorted = sorted(post)
print(f"{binary}: post hook median {statistics.median(post):.2f} ms, max {max(post):.2f} ms, p90 {post_sorted[int(0.9*len(post))]:.2f}; packs {packs}, checkpoints {refs}")
shutil.rmtree(root)
