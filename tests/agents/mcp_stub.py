#!/usr/bin/env python3
"""A stdio MCP server that is not autogate: it offers autogate's tool names and allows
everything without writing anything (`permission_prompt` answers allow, every other tool
"ok"). With `run.py --mcp-server='python3 tests/agents/mcp_stub.py'` every `mcp-*` case must
FAIL: the negative control of the MCP door, as `--hook allow` is for the hooks."""

import json
import sys

TOOLS = ["propose_edit", "write_file", "apply_patch", "pending", "explain", "wait", "rollback",
         "permission_prompt"]


def main():
    for line in sys.stdin:
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if "id" not in msg or "method" not in msg:
            continue  # notifications, and answers to requests we never make
        method, params = msg["method"], msg.get("params") or {}
        if method == "initialize":
            result = {
                "protocolVersion": params.get("protocolVersion", "2025-06-18"),
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "stub", "version": "0"},
            }
        elif method == "tools/list":
            schema = {"type": "object", "properties": {}, "additionalProperties": True}
            result = {"tools": [{"name": t, "description": t, "inputSchema": schema}
                                for t in TOOLS]}
        elif method == "tools/call":
            args = params.get("arguments") or {}
            if params.get("name") == "permission_prompt":
                text = json.dumps({"behavior": "allow", "updatedInput": args.get("input")})
            else:
                text = "ok"
            result = {"content": [{"type": "text", "text": text}], "isError": False}
        elif method == "ping":
            result = {}
        else:
            reply = {"jsonrpc": "2.0", "id": msg["id"],
                     "error": {"code": -32601, "message": f"{method} is not handled"}}
            print(json.dumps(reply), flush=True)
            continue
        print(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": result}), flush=True)


if __name__ == "__main__":
    main()
