#!/usr/bin/env python3
"""A scripted model server on 127.0.0.1 for the coding-agent tests.

It speaks the four wire formats the pinned agent CLIs use, streaming where they stream:

- Anthropic Messages (`POST /v1/messages`, SSE) for Claude Code;
- OpenAI Responses (`POST /v1/responses`, SSE) for Codex;
- Gemini v1beta (`POST /v1beta/models/M:streamGenerateContent?alt=sse`, and the
  non-streaming `:generateContent` / `:countTokens`) for Gemini CLI;
- OpenAI chat completions (`POST /v1/chat/completions`, SSE or not) for Copilot CLI.

A script is a list of steps and a final answer:

    {"steps": [{"tool": "Edit", "args": {...}}, ...], "final": "Done."}

The server is stateless between requests: the turn of a request is the number of tool results
already in the conversation it carries. Turn `i < len(steps)` answers with the tool call of step
`i`; later turns answer with the final text. Requests that offer no tools (titles, summaries,
classifiers) get a short text, or for a JSON-schema request a small object that ends the turn.

Codex's client-side `tool_search` (a tool of `type: "tool_search"`, no name) is answered with a
`tool_search_call` item; the MCP tools it found (a `namespace` in the `tool_search_output` the
next request carries) count as offered, and a step with `"namespace"` calls one of them.

Every request is appended to the log file as one JSON line: `{"format", "path", "turn",
"body", "reply", "tool_results", "missing_tool"}`, so that a test can read what the agent sent
back (a hook's deny reason reaching the model as a tool result, say).

Standalone: `python3 model_server.py --script S.json --log L.jsonl [--port N]` prints
`listening on http://127.0.0.1:PORT` and serves until interrupted.
"""

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

# ---------------------------------------------------------------------------------------------
# Reading a conversation: how many tool results it holds, and their text.


def _text_of(value):
    """The text inside a tool result, whatever shape the format gives it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(_text_of(v) for v in value)
    if isinstance(value, dict):
        for key in ("text", "output", "content", "response", "result", "error"):
            if key in value:
                return _text_of(value[key])
        return json.dumps(value)
    return str(value)


def tool_results(fmt, body):
    """The text of every tool result in the request, in conversation order."""
    out = []
    if fmt == "anthropic":
        for msg in body.get("messages", []):
            content = msg.get("content")
            if isinstance(content, list):
                for block in content:
                    if isinstance(block, dict) and block.get("type") == "tool_result":
                        out.append(_text_of(block.get("content")))
    elif fmt == "responses":
        for item in body.get("input", []) if isinstance(body.get("input"), list) else []:
            if isinstance(item, dict) and str(item.get("type", "")).endswith("_output"):
                out.append(_text_of(item.get("output")))
    elif fmt == "gemini":
        for content in body.get("contents", []):
            for part in content.get("parts", []) or []:
                if isinstance(part, dict) and "functionResponse" in part:
                    out.append(_text_of(part["functionResponse"].get("response")))
    elif fmt == "chat":
        for msg in body.get("messages", []):
            if msg.get("role") == "tool":
                out.append(_text_of(msg.get("content")))
    return out


def tool_names(fmt, body):
    """The names of the tools the request offers the model."""
    names = []
    for tool in body.get("tools", []) or []:
        if not isinstance(tool, dict):
            continue
        if fmt == "gemini":
            for decl in tool.get("functionDeclarations", []) or []:
                names.append(decl.get("name"))
        elif fmt == "chat":
            names.append((tool.get("function") or tool.get("custom") or {}).get("name"))
        elif fmt == "responses" and tool.get("type") == "tool_search":
            names.append("tool_search")  # Codex's client-side tool search has no name
        else:
            names.append(tool.get("name"))
    if fmt == "responses" and isinstance(body.get("input"), list):
        # Tools Codex's tool search found (MCP tools, in a namespace) are offered in its output.
        for item in body["input"]:
            if isinstance(item, dict) and item.get("type") == "tool_search_output":
                for found in item.get("tools") or []:
                    inner = found.get("tools") if found.get("type") == "namespace" else [found]
                    names.extend(t.get("name") for t in inner or [] if isinstance(t, dict))
    return [n for n in names if n]


def _tool_spec(body, name):
    for tool in body.get("tools", []) or []:
        if not isinstance(tool, dict):
            continue
        inner = tool.get("function") or tool.get("custom") or tool
        if inner.get("name") == name or (name == "tool_search" and tool.get("type") == name):
            return tool
    return None


def _freeform_input(args):
    """The raw text of a freeform (custom) tool call: a string, or `{"input": text}`."""
    return args if isinstance(args, str) else args.get("input", "")


# ---------------------------------------------------------------------------------------------
# Replies, one builder per format. A reply is ("tool", name, args) or ("text", text).


def _sse(event, data):
    head = f"event: {event}\n" if event else ""
    return (head + "data: " + json.dumps(data) + "\n\n").encode()


def anthropic_reply(reply, body, stream, counter):
    model = body.get("model", "claude-sonnet-4-5")
    msg_id = f"msg_{counter}"
    if reply[0] == "tool":
        block = {"type": "tool_use", "id": f"toolu_{counter}", "name": reply[1], "input": reply[2]}
        stop = "tool_use"
    else:
        block = {"type": "text", "text": reply[1]}
        stop = "end_turn"
    usage = {"input_tokens": 10, "output_tokens": 10}
    if not stream:
        return (
            "application/json",
            json.dumps(
                {
                    "id": msg_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [block],
                    "stop_reason": stop,
                    "stop_sequence": None,
                    "usage": usage,
                }
            ).encode(),
        )
    chunks = [
        _sse(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": msg_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 10, "output_tokens": 1},
                },
            },
        )
    ]
    if block["type"] == "tool_use":
        start = dict(block, input={})
        delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
    else:
        start = {"type": "text", "text": ""}
        delta = {"type": "text_delta", "text": block["text"]}
    chunks.append(
        _sse(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": start},
        )
    )
    chunks.append(
        _sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})
    )
    chunks.append(_sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
    chunks.append(
        _sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": 10},
            },
        )
    )
    chunks.append(_sse("message_stop", {"type": "message_stop"}))
    return "text/event-stream", b"".join(chunks)


def responses_reply(reply, body, stream, counter):
    resp_id = f"resp_{counter}"
    if reply[0] == "tool":
        name, args = reply[1], reply[2]
        spec = _tool_spec(body, name) or {}
        if spec.get("type") == "tool_search":
            # Codex's tool search, run by the client: a `tool_search_call` item.
            item = {
                "type": "tool_search_call",
                "id": f"tsc_{counter}",
                "status": "completed",
                "call_id": f"call_{counter}",
                "execution": "client",
                "arguments": args,
            }
        elif spec.get("type") == "custom":
            # A freeform tool (Codex's apply_patch): the input is the raw text.
            text = _freeform_input(args)
            item = {
                "type": "custom_tool_call",
                "id": f"ctc_{counter}",
                "status": "completed",
                "call_id": f"call_{counter}",
                "name": name,
                "input": text,
            }
        else:
            item = {
                "type": "function_call",
                "id": f"fc_{counter}",
                "status": "completed",
                "call_id": f"call_{counter}",
                "name": name,
                "arguments": json.dumps(args),
            }
            if len(reply) > 3 and reply[3]:
                item["namespace"] = reply[3]  # an MCP tool Codex found through tool_search
    else:
        item = {
            "type": "message",
            "id": f"msg_{counter}",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": reply[1], "annotations": []}],
        }
    usage = {
        "input_tokens": 10,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 10,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 20,
    }
    response = {
        "id": resp_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": "completed",
        "model": body.get("model", "gpt-5.5"),
        "output": [item],
        "usage": usage,
    }
    if not stream:
        return "application/json", json.dumps(response).encode()
    created = dict(response, status="in_progress", output=[])
    chunks = [
        _sse("response.created", {"type": "response.created", "response": created}),
        _sse(
            "response.output_item.added",
            {"type": "response.output_item.added", "output_index": 0, "item": item},
        ),
        _sse(
            "response.output_item.done",
            {"type": "response.output_item.done", "output_index": 0, "item": item},
        ),
        _sse("response.completed", {"type": "response.completed", "response": response}),
    ]
    return "text/event-stream", b"".join(chunks)


def _gemini_json_answer(body):
    """A JSON object for a Gemini side request that asks for one (next speaker, routing...)."""
    config = body.get("generationConfig") or {}
    schema = config.get("responseJsonSchema") or config.get("responseSchema") or {}
    props = schema.get("properties") or {}
    out = {}
    for key, spec in props.items():
        spec = spec or {}
        kind = str(spec.get("type", "string")).lower()
        if key == "next_speaker":
            out[key] = "user"
        elif spec.get("enum"):
            out[key] = spec["enum"][0]
        elif kind == "boolean":
            out[key] = False
        elif kind in ("number", "integer"):
            out[key] = spec.get("minimum", 0)
        elif kind == "array":
            out[key] = []
        elif kind == "object":
            out[key] = {}
        else:
            out[key] = "scripted"
    return json.dumps(out)


def gemini_reply(reply, body, stream, counter):
    if reply[0] == "tool":
        parts = [{"functionCall": {"name": reply[1], "args": reply[2]}}]
    else:
        parts = [{"text": reply[1]}]
    chunk = {
        "candidates": [
            {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
        ],
        "usageMetadata": {
            "promptTokenCount": 10,
            "candidatesTokenCount": 10,
            "totalTokenCount": 20,
        },
        "modelVersion": "gemini-2.5-pro",
        "responseId": f"resp_{counter}",
    }
    if not stream:
        return "application/json", json.dumps(chunk).encode()
    return "text/event-stream", ("data: " + json.dumps(chunk) + "\r\n\r\n").encode()


def chat_reply(reply, body, stream, counter):
    model = body.get("model", "gpt-5.5")
    base = {"id": f"chatcmpl-{counter}", "created": int(time.time()), "model": model}
    usage = {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}
    if reply[0] == "tool":
        spec = _tool_spec(body, reply[1]) or {}
        if spec.get("type") == "custom":
            # A freeform tool (Copilot's apply_patch for GPT models): the input is raw text.
            call = {
                "id": f"call_{counter}",
                "type": "custom",
                "custom": {"name": reply[1], "input": _freeform_input(reply[2])},
            }
        else:
            call = {
                "id": f"call_{counter}",
                "type": "function",
                "function": {"name": reply[1], "arguments": json.dumps(reply[2])},
            }
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
        finish = "tool_calls"
    else:
        message = {"role": "assistant", "content": reply[1]}
        finish = "stop"
    if not stream:
        return (
            "application/json",
            json.dumps(
                dict(
                    base,
                    object="chat.completion",
                    choices=[{"index": 0, "message": message, "finish_reason": finish}],
                    usage=usage,
                )
            ).encode(),
        )
    delta = dict(message)
    if "tool_calls" in delta:
        delta["tool_calls"] = [dict(delta["tool_calls"][0], index=0)]
    chunks = [
        dict(
            base,
            object="chat.completion.chunk",
            choices=[{"index": 0, "delta": delta, "finish_reason": None}],
        ),
        dict(
            base,
            object="chat.completion.chunk",
            choices=[{"index": 0, "delta": {}, "finish_reason": finish}],
            usage=usage,
        ),
    ]
    data = b"".join(("data: " + json.dumps(c) + "\n\n").encode() for c in chunks)
    return "text/event-stream", data + b"data: [DONE]\n\n"


BUILDERS = {
    "anthropic": anthropic_reply,
    "responses": responses_reply,
    "gemini": gemini_reply,
    "chat": chat_reply,
}


# ---------------------------------------------------------------------------------------------
# The server.


class ModelServer:
    """A scripted model server in a background thread; `script` and `log_path` can change
    between agent runs."""

    def __init__(self, script=None, log_path=None, port=0, script_path=None):
        self.script = script or {"steps": [], "final": "Done."}
        self.script_path = script_path
        self.log_path = log_path
        self._lock = threading.Lock()
        self._counter = 0
        handler = _make_handler(self)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def set_script(self, script, log_path):
        with self._lock:
            self.script = script
            self.log_path = log_path

    def next_id(self):
        with self._lock:
            self._counter += 1
            return self._counter

    def log(self, record):
        with self._lock:
            if self.log_path:
                with open(self.log_path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(record) + "\n")

    def decide(self, fmt, body, offers_tools):
        """The reply for a request: the script's step for this turn, or its final text."""
        results = tool_results(fmt, body)
        turn = len(results)
        script = self.script
        if self.script_path:
            with open(self.script_path, encoding="utf-8") as f:
                script = json.load(f)
        steps = script.get("steps", [])
        if offers_tools and turn < len(steps):
            step = steps[turn]
            if step.get("namespace"):
                return turn, ("tool", step["tool"], step.get("args", {}), step["namespace"])
            return turn, ("tool", step["tool"], step.get("args", {}))
        if not offers_tools:
            return turn, ("text", "ok")
        return turn, ("text", script.get("final", "Done."))


def _format_of(path):
    if (
        path.startswith("/v1beta/")
        or ":streamGenerateContent" in path
        or ":generateContent" in path
    ):
        return "gemini"
    if path.endswith("/messages"):
        return "anthropic"
    if path.endswith("/responses"):
        return "responses"
    if path.endswith("/chat/completions"):
        return "chat"
    return None


def _make_handler(server):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # quiet: the log file has everything
            pass

        def _send(self, status, ctype, data):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            if ctype == "text/event-stream":
                self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()

        def do_GET(self):
            path = urlparse(self.path).path
            server.log({"format": None, "method": "GET", "path": self.path})
            if path.endswith("/models"):
                self._send(200, "application/json", json.dumps({"data": [], "models": []}).encode())
            else:
                self._send(404, "application/json", b'{"error":{"message":"not found"}}')

        def do_HEAD(self):
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {"_raw": raw.decode("utf-8", "replace")}
            url = urlparse(self.path)
            path = url.path
            fmt = _format_of(path)
            record = {"format": fmt, "method": "POST", "path": self.path, "body": body}
            if fmt is None:
                if path.endswith("/count_tokens"):
                    server.log(record)
                    self._send(200, "application/json", b'{"input_tokens": 10}')
                    return
                server.log(record)
                self._send(404, "application/json", b'{"error":{"message":"not found"}}')
                return
            if fmt == "gemini" and path.endswith(":countTokens"):
                server.log(record)
                self._send(200, "application/json", b'{"totalTokens": 10}')
                return
            counter = server.next_id()
            offers = tool_names(fmt, body)
            if fmt == "gemini":
                stream = ":streamGenerateContent" in path
                json_config = (body.get("generationConfig") or {}).get("responseMimeType")
                if not offers and json_config == "application/json":
                    turn, reply = 0, ("text", _gemini_json_answer(body))
                else:
                    turn, reply = server.decide(fmt, body, bool(offers))
            else:
                stream = bool(body.get("stream"))
                turn, reply = server.decide(fmt, body, bool(offers))
            record.update(
                turn=turn,
                reply=list(reply),
                tool_results=tool_results(fmt, body),
                offered_tools=offers,
                missing_tool=(reply[0] == "tool" and reply[1] not in offers),
            )
            server.log(record)
            ctype, data = BUILDERS[fmt](reply, body, stream, counter)
            self._send(200, ctype, data)

    return Handler


def read_log(path):
    """The records of a log file written by the server (an absent file is an empty log)."""
    records = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    records.append(json.loads(line))
    except FileNotFoundError:
        pass
    return records


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--script", help="JSON script file ({steps, final}), read per request")
    parser.add_argument("--log", required=True, help="JSONL file of every request")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    # The script file is read again for every request, so it can change between agent runs.
    server = ModelServer(None, args.log, args.port, script_path=args.script)
    print(f"listening on {server.url}", flush=True)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
