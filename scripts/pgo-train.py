#!/usr/bin/env python3
"""The training run of scripts/build-pgo.sh: agent-shaped traffic through an
instrumented sluice, so the compiler lays out the paths requests really take.

Starts two simulated providers (OpenAI and Anthropic dialects) and the gateway
from the given binary, all on 127.0.0.1 port 0, sends chat, Messages and
Responses requests of 1-64 KiB, streamed and not, same-API and translated,
over keep-alive connections, then stops the gateway with SIGTERM so that it
writes its profile on the way out. Exits non-zero when any request fails:
the run doubles as a smoke test of the build.

    scripts/pgo-train.py path/to/instrumented/sluice
"""
import http.client
import json
import re
import signal
import subprocess
import sys
import tempfile
import time

ROUNDS = 150  # each round sends every request shape once


def start(args, ready, log):
    """Starts a process and returns it with the URL its ready line names."""
    out = open(log, "w+")
    proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        out.seek(0)
        m = re.search(ready, out.read())
        if m:
            return proc, m.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    out.seek(0)
    sys.exit(f"pgo-train: {' '.join(args[:2])} did not start:\n{out.read()}")


def body_of(kib, api, stream):
    turn = ("def f(x):\\n    return x + 1  # \\\"quoted\\\"\\n" * 30)[:1000]
    turns = [{"role": "user" if i % 2 == 0 else "assistant", "content": turn} for i in range(max(kib, 1))]
    turns[-1]["role"] = "user"
    if api == "responses":
        return {"model": "main", "input": turns, "max_output_tokens": 16, "stream": stream}
    body = {"model": "main" if api == "chat" else "claude", "messages": turns,
            "max_tokens": 16, "stream": stream}
    if api == "chat" and kib == 16:
        body["tools"] = [{"type": "function", "function": {
            "name": "read_file", "parameters": {"type": "object",
                                                 "properties": {"path": {"type": "string"}},
                                                 "required": ["path"]}}}]
    return body


def main():
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="sluice-pgo-") as work:
        train(binary, work)


def train(binary, work):
    procs = []
    try:
        oa, oa_url = start([binary, "sim", "--dialect", "openai", "--listen", "127.0.0.1:0"],
                           r"listening on (http://\S+)", f"{work}/oa.log")
        procs.append(oa)
        an, an_url = start([binary, "sim", "--dialect", "anthropic", "--listen", "127.0.0.1:0"],
                           r"listening on (http://\S+)", f"{work}/an.log")
        procs.append(an)
        with open(f"{work}/sluice.yaml", "w") as f:
            f.write(f"""server: {{listen: "127.0.0.1:0"}}
state: {{backend: memory}}
providers:
  oa: {{api: openai, base_url: "{oa_url}/v1", keys: [train-key]}}
  an: {{api: anthropic, dialect: anthropic, base_url: "{an_url}", keys: [train-key]}}
models:
  main: {{route: [oa/gpt-4o-mini]}}
  claude: {{route: [an/claude-sonnet-4-5]}}
""")
        gw, gw_url = start([binary, "serve", "-c", f"{work}/sluice.yaml"],
                           r"serving on (http://\S+)", f"{work}/sluice.log")
        procs.append(gw)
        host, port = gw_url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        shapes = [(kib, api, stream, model)
                  for kib in (1, 16, 64) for stream in (False, True)
                  for api, model in (("chat", None), ("messages", None), ("responses", None),
                                     ("chat", "claude"))]  # chat to Anthropic: translated
        paths = {"chat": "/v1/chat/completions", "messages": "/v1/messages",
                 "responses": "/v1/responses"}
        bodies = []
        for kib, api, stream, model in shapes:
            b = body_of(kib, api, stream)
            if model:
                b["model"] = model
            bodies.append((paths[api], json.dumps(b).encode()))
        sent = 0
        for _ in range(ROUNDS):
            for path, payload in bodies:
                conn.request("POST", path, payload, {"Content-Type": "application/json",
                                                     "Authorization": "Bearer train-key"})
                resp = conn.getresponse()
                answer = resp.read()
                if resp.status != 200:
                    with open(f"{work}/sluice.log") as log:
                        tail = log.read()[-2000:]
                    sys.exit(f"pgo-train: {path} answered {resp.status}: {answer[:300]!r}\n"
                             f"the gateway's log ends:\n{tail}")
                sent += 1
        conn.close()
        gw.send_signal(signal.SIGTERM)
        if gw.wait(timeout=30) != 0:
            sys.exit(f"pgo-train: the gateway exited with {gw.returncode}")
        print(f"pgo-train: {sent} requests, all answered 200")
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()


if __name__ == "__main__":
    main()
