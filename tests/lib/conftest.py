"""Fixtures for the Python package's tests: `sluice sim` providers, `sluice
serve` gateways and a redis-server, all on 127.0.0.1, each started here and
stopped at the end. A process is ready when it says so on its output (no
sleeps). SLUICE_BIN names the sluice binary (tests/lib/run.sh sets it)."""

import os
import queue
import re
import shutil
import socket
import subprocess
import threading

import pytest

KEY = "sk-sluice-test-key-0001"
os.environ["SLUICE_TEST_KEY"] = KEY  # the configs' env:SLUICE_TEST_KEY, read in-process too
os.environ["SLUICE_TEST_KEY2"] = KEY + "-two"


class Daemon:
    def __init__(self, args, env=None):
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, text=True)
        self.lines: "queue.Queue[str]" = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.log.append(line)
            self.lines.put(line)
        self.lines.put("")  # exited

    def wait_for(self, pattern, count=1, timeout=20.0):
        found = []
        while len(found) < count:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"timed out waiting for {pattern!r}:\n{''.join(self.log)}")
            if line == "":
                raise AssertionError(f"exited before {pattern!r}:\n{''.join(self.log)}")
            m = re.search(pattern, line)
            if m:
                found.append(m)
        return found

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="session")
def sluice_bin():
    path = os.environ.get("SLUICE_BIN")
    if not path:
        pytest.skip("SLUICE_BIN is not set (tests/lib/run.sh sets it)")
    return path


@pytest.fixture(scope="session")
def sim(sluice_bin, tmp_path_factory):
    """Simulated providers: {"zai": url, "openai": url, "slow": url}; `slow`
    streams one token per 100 ms, so a stream stays open for seconds."""
    d = tmp_path_factory.mktemp("sim")
    (d / "sim.yaml").write_text("providers:\n  zai: {dialect: zai}\n  openai: {dialect: openai}\n"
                                "  slow: {dialect: zai, per_token: 100ms}\n")
    daemon = Daemon([sluice_bin, "sim", "--config", str(d / "sim.yaml")])
    found = daemon.wait_for(r"^sim: (\S+) \(\w+\) listening on (http://127\.0\.0\.1:\d+)", count=3)
    yield {m.group(1): m.group(2) for m in found}
    daemon.stop()


@pytest.fixture
def write_config(tmp_path):
    """Writes a gateway config and returns its path."""
    counter = iter(range(1000))

    def write(text: str) -> str:
        path = tmp_path / f"sluice-{next(counter)}.yaml"
        path.write_text(text)
        return str(path)

    return write


@pytest.fixture
def gateway(sluice_bin, tmp_path):
    """Starts `sluice serve -c <path>`; returns its base URL."""
    started = []

    def start(config_path: str) -> str:
        env = dict(os.environ, HOME=str(tmp_path))
        daemon = Daemon([sluice_bin, "serve", "-c", config_path], env=env)
        started.append(daemon)
        return daemon.wait_for(r"serving on (http://127\.0\.0\.1:\d+)")[0].group(1)

    yield start
    for daemon in started:
        daemon.stop()


@pytest.fixture
def redis_url(tmp_path):
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(server):
        pytest.skip("redis-server is not installed")
    with socket.socket() as s:  # redis-server cannot report a port 0 of its own
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    daemon = Daemon([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "no", "--dir", str(tmp_path)])
    daemon.wait_for(r"Ready to accept connections")
    yield f"redis://127.0.0.1:{port}"
    daemon.stop()
