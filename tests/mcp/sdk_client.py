#!/usr/bin/env python3
"""`autogate mcp` driven by the official Python MCP SDK client, as an agent would drive it.

Usage: sdk_client.py BIN. Starts `BIN mcp` in a temporary git repository (a small Rust crate
on branch feature/x), lists the tools, proposes a low-risk and a high-risk edit, sends bad
arguments, and asks `explain` and `pending` about the held change. Prints one ok/FAIL line per
check and exits nonzero if any failed.
"""

import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mcp import ClientSession, MCPError, StdioServerParameters, stdio_client

LIB = "pub fn answer() -> u32 {\n    41\n}\n"
CARGO = '[package]\nname = "demo"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n'
TOOLS = {"propose_edit", "write_file", "apply_patch", "pending", "explain", "wait", "rollback",
         "permission_prompt"}

failures = 0


def check(ok: bool, what: str, detail: str = "") -> bool:
    global failures
    if ok:
        print(f"ok    {what}")
    else:
        failures += 1
        print(f"FAIL  {what}" + (f": {detail}" if detail else ""))
    return ok


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def make_repo(root: Path) -> None:
    (root / "src").mkdir()
    (root / "src/lib.rs").write_text(LIB)
    (root / "Cargo.toml").write_text(CARGO)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "t")
    git(root, "config", "user.email", "t@example.com")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    git(root, "checkout", "-q", "-b", "feature/x")


def text_of(result) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "type", None) == "text")


async def main(bin_path: str) -> None:
    with tempfile.TemporaryDirectory(prefix="autogate-sdk-") as tmp:
        root = Path(tmp).resolve()
        make_repo(root)
        env = {k: v for k, v in os.environ.items() if k != "AUTOGATE_ENV"}
        params = StdioServerParameters(command=bin_path, args=["mcp", "--agent", "sdk-client"],
                                       cwd=str(root), env=env)
        started = time.monotonic()
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                check(bool(init.server_info.name), f"initialize: server {init.server_info.name}")

                listed = await session.list_tools()
                names = {t.name for t in listed.tools}
                check(names == TOOLS, "tools/list names the eight tools", str(sorted(names)))
                for tool in sorted(listed.tools, key=lambda t: t.name):
                    schema = tool.input_schema or {}
                    check(schema.get("type") == "object",
                          f"{tool.name} has an input JSON schema", str(schema))
                propose = next((t for t in listed.tools if t.name == "propose_edit"), None)
                required = set((propose.input_schema or {}).get("required", [])) if propose else set()
                check({"path", "old_string", "new_string"} <= required,
                      "propose_edit requires path, old_string, new_string", str(required))

                # A comment: low risk, written at once.
                result = await session.call_tool("propose_edit", {
                    "path": "src/lib.rs", "old_string": "    41\n",
                    "new_string": "    // The answer, less one.\n    41\n"})
                text = text_of(result)
                check(not result.is_error and text.startswith("applied: src/lib.rs (low"),
                      "a comment is applied", text)
                check((root / "src/lib.rs").read_text()
                      == "pub fn answer() -> u32 {\n    // The answer, less one.\n    41\n}\n",
                      "the comment is on disk")

                # A new dependency: high risk, held for the person.
                result = await session.call_tool("propose_edit", {
                    "path": "Cargo.toml", "old_string": "[dependencies]\n",
                    "new_string": '[dependencies]\nrand = "0.8"\n'})
                text = text_of(result)
                check(bool(result.is_error) and text.startswith("waiting for the person: Cargo.toml"),
                      "a new dependency waits for the person", text)
                check((root / "Cargo.toml").read_text() == CARGO, "Cargo.toml is unchanged")
                match = re.search(r"Call `wait` with id ([0-9a-f]+)", text)
                held = match.group(1) if match else ""
                check(bool(held), "the result names the held change's id", text)

                # Bad arguments: an error with a clear message, and the server goes on.
                try:
                    result = await session.call_tool("propose_edit", {"path": "src/lib.rs"})
                    text = text_of(result)
                    check(bool(result.is_error) and "old_string" in text,
                          f"bad arguments are a tool error naming the missing field ({text!r})",
                          text)
                except MCPError as e:
                    check("old_string" in str(e),
                          f"bad arguments are a JSON-RPC error naming the missing field ({e})",
                          str(e))
                try:
                    result = await session.call_tool("propose_edit", {
                        "path": 7, "old_string": [], "new_string": None})
                    text = text_of(result)
                    check(bool(result.is_error) and "invalid type" in text,
                          f"arguments of the wrong type are a tool error ({text!r})", text)
                except MCPError as e:
                    check("invalid type" in str(e),
                          f"arguments of the wrong type are a JSON-RPC error ({e})", str(e))

                result = await session.call_tool("explain", {"id": held})
                text = text_of(result)
                check(not result.is_error and "high" in text and "rand" in text,
                      "explain shows the held change's level and diff", text)
                result = await session.call_tool("pending", {})
                text = text_of(result)
                check(not result.is_error and text.startswith(held) and "Cargo.toml" in text,
                      "pending lists the held change (the server still answers)", text)
                result = await session.call_tool("explain", {"id": "000000000000"})
                check(bool(result.is_error), "explain on an unknown id is an error", text_of(result))
        check((root / "Cargo.toml").read_text() == CARGO, "Cargo.toml still unchanged at the end")
        print(f"      {time.monotonic() - started:.2f} s for the session")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: sdk_client.py BIN", file=sys.stderr)
        sys.exit(2)
    asyncio.run(main(sys.argv[1]))
    if failures:
        print(f"{failures} check(s) failed")
        sys.exit(1)
    print("all checks passed")
