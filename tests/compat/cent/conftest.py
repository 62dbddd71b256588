"""Harness: the real server binary (CENTRIFUGE_BIN, built from the same commit
by `make test-compat`) on a free port, and a raw WebSocket client."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import jwt
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

SECRET = "cent-secret-0123456789abcdef0123456789"
API_KEY = "cent-api-key-0123456789abcdef"
WAIT = 5.0

CONFIG = f"""http: {{address: "127.0.0.1", port: 0}}
log: {{level: debug}}
projects:
  - name: default
    secret: "{SECRET}"
    api_key: "{API_KEY}"
    options: {{presence: true, join_leave: true, allow_subscribe_for_client: true}}
    namespaces:
      - {{name: hist, options: {{history_size: 100, history_ttl: 300s, presence: true, join_leave: true, allow_subscribe_for_client: true}}}}
"""

_n = 0


def uniq(prefix: str) -> str:
    global _n
    _n += 1
    return f"{prefix}_{_n}_{time.monotonic_ns() % 1000000}"


class Server:
    def __init__(self, binary: str, directory: Path) -> None:
        cfg = directory / "config.yaml"
        cfg.write_text(CONFIG)
        self.log_path = directory / "server.log"
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen([binary, "serve", "--config", str(cfg)], stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            m = re.search(r"msg=listening addr=(127\.0\.0\.1:\d+)", self.log_path.read_text())
            if m:
                self.addr = m.group(1)
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("server did not listen:\n" + self.log_path.read_text())
            time.sleep(0.05)

    @property
    def api_url(self) -> str:
        return f"http://{self.addr}/api"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    binary = os.environ.get("CENTRIFUGE_BIN")
    if not binary:
        pytest.fail("CENTRIFUGE_BIN is not set: run `make test-compat`")
    with tempfile.TemporaryDirectory(prefix="compat-cent-") as d:
        s = Server(binary, Path(d))
        yield s
        s.stop()


class WS:
    """A raw client-protocol connection (JSON frames over WebSocket)."""

    def __init__(self, server: Server, user: str) -> None:
        self.conn: ClientConnection = connect(f"ws://{server.addr}/connection/websocket", open_timeout=WAIT)
        self._id = 0
        self.kept: list[dict[str, Any]] = []
        self.close_code: Optional[int] = None
        tok = jwt.encode({"sub": user, "exp": int(time.time()) + 3600}, SECRET, algorithm="HS256")
        reply = self.call("connect", {"token": tok})
        self.client: str = reply["connect"]["client"]

    def close(self) -> None:
        self.conn.close()

    def call(self, method: str, params: Any) -> dict[str, Any]:
        self._id += 1
        i = self._id
        self.conn.send(json.dumps({"id": i, method: params}))
        frame = self.next(lambda f: f.get("id") == i)
        assert frame is not None, f"no reply to {method}"
        assert "error" not in frame, frame
        return frame

    def _frames(self, deadline: float) -> Iterator[dict[str, Any]]:
        yield from list(self.kept)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                msg = self.conn.recv(timeout=left)
            except TimeoutError:
                return
            except ConnectionClosed as exc:
                if exc.rcvd is not None:
                    self.close_code = exc.rcvd.code
                return
            text = msg if isinstance(msg, str) else msg.decode()
            # Keep every frame of the message before yielding any: the caller
            # may stop at the first that matches.
            frames = [json.loads(line) for line in text.strip().split("\n") if line.strip()]
            if {} in frames:
                self.conn.send("{}")  # ping
            frames = [f for f in frames if f != {}]
            self.kept.extend(frames)
            yield from frames

    def next(self, match: Callable[[dict[str, Any]], bool]) -> Optional[dict[str, Any]]:
        for frame in self._frames(time.monotonic() + WAIT):
            if match(frame):
                self.kept.remove(frame)
                return frame
        return None

    def push(self, kind: str, channel: str) -> dict[str, Any]:
        frame = self.next(lambda f: kind in f.get("push", {}) and f["push"].get("channel") == channel)
        assert frame is not None, f"no {kind} push in {channel} within {WAIT}s"
        body: dict[str, Any] = frame["push"][kind]
        return body

    def expect_open(self, seconds: float) -> None:
        """Fail if the server closes the connection within ``seconds``."""
        for _ in self._frames(time.monotonic() + seconds):
            pass
        assert self.close_code is None, f"closed with {self.close_code}"

    def wait_close(self) -> Optional[int]:
        for _ in self._frames(time.monotonic() + WAIT):
            pass
        return self.close_code


@pytest.fixture
def ws(server: Server) -> Iterator[Callable[[str], WS]]:
    opened: list[WS] = []

    def open_ws(user: str) -> WS:
        w = WS(server, user)
        opened.append(w)
        return w

    yield open_ws
    for w in opened:
        w.close()
