"""The test harness: the real server binary (CENTRIFUGE_BIN, or built from this
repository) started once per engine, memory and redis (with a redis-server of
its own), and a raw WebSocket client for the methods that act on connections.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

import centrifuge_sdk as cs

REPO = Path(__file__).resolve().parents[2]
SECRET = "py-secret-0123456789abcdef0123456789"
API_KEY = "py-api-key-0123456789abcdef"
OTHER_SECRET = "py-other-secret-0123456789abcdef01234"
OTHER_KEY = "py-other-api-key-0123456789"
KEYS_API_KEY = "py-keys-api-key-0123456789"
WAIT = 5.0
ENGINES = ["memory", "redis"]

_counter = itertools.count(1)


def uniq(prefix: str) -> str:
    """A name no other test uses."""
    return f"{prefix}{next(_counter)}_{time.monotonic_ns() % 1000000}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def tmp_root() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="centrifuge-sdk-python-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def server_bin(tmp_root: Path) -> str:
    """CENTRIFUGE_BIN, or the server of this repository built now."""
    env = os.environ.get("CENTRIFUGE_BIN")
    if env:
        if not Path(env).is_file():
            pytest.fail(f"CENTRIFUGE_BIN={env} does not exist")
        return env
    out = tmp_root / "centrifuge"
    try:
        subprocess.run(
            ["go", "build", "-o", str(out), "./cmd/centrifuge"],
            cwd=REPO / "server", check=True, capture_output=True, text=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.fail(f"cannot build the server (set CENTRIFUGE_BIN): {exc}")
    return str(out)


@pytest.fixture(scope="session")
def redis_url(tmp_root: Path) -> Iterator[str]:
    """A redis-server without persistence on a free port. Missing redis-server
    fails (make deps installs it): never a silent skip."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server not found (make deps installs it)")
    for _ in range(5):
        port = free_port()
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(tmp_root), "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith(b"+PONG"):
                        break
            except OSError:
                time.sleep(0.05)
        else:
            proc.kill()
            proc.wait()
            continue
        yield f"redis://127.0.0.1:{port}/0"
        proc.kill()
        proc.wait()
        return
    pytest.fail("redis-server did not start")


class Keys:
    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())

    @staticmethod
    def public_pem(key: Any) -> str:
        return str(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode())

    @staticmethod
    def private_pem(key: Any) -> str:
        return str(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode())


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys()


def config_yaml(engine: str, redis: Optional[str], keys: Keys) -> str:
    eng = ""
    if engine == "redis":
        eng = f'engine: {{type: redis, redis_url: "{redis}", redis_prefix: "{uniq("sdkpy")}"}}\n'
    rsa_pub = textwrap.indent(keys.public_pem(keys.rsa).strip(), " " * 6)
    ec_pub = textwrap.indent(keys.public_pem(keys.ec).strip(), " " * 6)
    return eng + f"""http: {{address: 127.0.0.1, port: 0}}
log: {{level: info}}
client: {{expired_close_delay: 1s}}
projects:
  - name: default
    secret: "{SECRET}"
    api_key: "{API_KEY}"
    options: {{presence: true, join_leave: true, history_size: 100, history_ttl: 300s, allow_subscribe_for_client: true}}
    namespaces:
      - {{name: bare, options: {{allow_subscribe_for_client: true}}}}
      - {{name: public, options: {{allow_subscribe_for_client: true, allow_anonymous: true}}}}
  - name: other
    secret: "{OTHER_SECRET}"
    api_key: "{OTHER_KEY}"
    options: {{presence: true, history_size: 10, history_ttl: 60s, allow_subscribe_for_client: true}}
  - name: keys
    api_key: "{KEYS_API_KEY}"
    token_rsa_public_key: |
{rsa_pub}
    token_ecdsa_public_key: |
{ec_pub}
    options: {{presence: true, allow_subscribe_for_client: true}}
"""


class Server:
    """One running bin/centrifuge."""

    def __init__(self, binary: str, engine: str, config: str, directory: Path) -> None:
        self.engine = engine
        path = directory / f"{engine}.yaml"
        path.write_text(config)
        self.log_path = directory / f"{engine}.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [binary, "serve", "--config", str(path)], stdout=self._log, stderr=self._log
        )
        deadline = time.monotonic() + 10
        while True:
            m = re.search(r"msg=listening addr=(127\.0\.0\.1:\d+)", self.log())
            if m:
                self.addr = m.group(1)
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"{engine} server did not start:\n{self.log()}")
            time.sleep(0.02)
        self.url = f"http://{self.addr}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def ws_url(self, project: str = "") -> str:
        if project:
            return f"ws://{self.addr}/connection/{project}/websocket"
        return f"ws://{self.addr}/connection/websocket"

    def client(self, project: Optional[str] = None) -> cs.Client:
        key = {None: API_KEY, "other": OTHER_KEY, "keys": KEYS_API_KEY}[project]
        return cs.Client(self.url, key, project=project)


_servers: dict[str, Server] = {}


@pytest.fixture(scope="session")
def _all_servers(tmp_root: Path) -> Iterator[dict[str, Server]]:
    yield _servers
    for s in _servers.values():
        s.stop()


def _server(request: pytest.FixtureRequest, engine: str) -> Server:
    if engine not in _servers:
        binary = request.getfixturevalue("server_bin")
        redis = request.getfixturevalue("redis_url") if engine == "redis" else None
        keys = request.getfixturevalue("keys")
        tmp = request.getfixturevalue("tmp_root")
        _servers[engine] = Server(binary, engine, config_yaml(engine, redis, keys), tmp)
    return _servers[engine]


@pytest.fixture(params=ENGINES)
def server(request: pytest.FixtureRequest, _all_servers: dict[str, Server]) -> Server:
    """The server of each engine (started once, shared: tests use their own
    channels and users)."""
    return _server(request, request.param)


@pytest.fixture
def memory_server(request: pytest.FixtureRequest, _all_servers: dict[str, Server]) -> Server:
    return _server(request, "memory")


class Runner:
    """Runs an AsyncClient's methods on a private event loop, so that one test
    body exercises both clients with the same calls."""

    def __init__(self, client: cs.AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        self._client = client
        self._loop = loop

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._client, name)

        def run(*args: Any, **kwargs: Any) -> Any:
            return self._loop.run_until_complete(method(*args, **kwargs))

        return run


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest, server: Server) -> Iterator[Any]:
    """The default project's API through Client, then through AsyncClient."""
    if request.param == "sync":
        with server.client() as c:
            yield c
        return
    loop = asyncio.new_event_loop()
    client = cs.AsyncClient(server.url, API_KEY)
    try:
        yield Runner(client, loop)
    finally:
        loop.run_until_complete(client.aclose())
        loop.close()


def token(user: str, info: Any = None, channels: Optional[list[str]] = None) -> str:
    """An HS256 connection token of the default project, valid for an hour."""
    from datetime import timedelta

    return cs.make_connection_token(SECRET, user, exp=timedelta(hours=1), info=info, channels=channels)


class WS:
    """A raw protocol client: JSON frames over WebSocket."""

    def __init__(self, url: str) -> None:
        self.conn: ClientConnection = connect(url, open_timeout=WAIT)
        self._id = 0
        self.kept: list[dict[str, Any]] = []
        self.close_code: Optional[int] = None
        self.close_reason = ""
        self.client = ""
        self.subs: dict[str, Any] = {}

    def close(self) -> None:
        self.conn.close()

    def send(self, method: str, params: Any) -> int:
        self._id += 1
        self.conn.send(json.dumps({"id": self._id, method: params}))
        return self._id

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
                    self.close_code, self.close_reason = exc.rcvd.code, exc.rcvd.reason
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

    def call(self, method: str, params: Any) -> tuple[Optional[dict[str, Any]], Optional[int]]:
        """(reply frame, None), or (None, close code) when the server closed."""
        i = self.send(method, params)
        frame = self.next(lambda f: f.get("id") == i)
        if frame is None:
            code = self.wait_close()
            assert code is not None, f"{method}: no reply and no close"
            return None, code
        return frame, None

    def connect(self, tok: str) -> tuple[Optional[dict[str, Any]], Optional[int]]:
        frame, code = self.call("connect", {"token": tok})
        if frame is not None and "connect" in frame:
            self.client = frame["connect"]["client"]
            self.subs = frame["connect"].get("subs") or {}
        return frame, code

    def push(self, kind: str, channel: Optional[str] = None) -> dict[str, Any]:
        frame = self.next(
            lambda f: kind in f.get("push", {})
            and (channel is None or f["push"].get("channel") == channel)
        )
        assert frame is not None, f"no {kind} push in {channel!r} within {WAIT}s"
        body: dict[str, Any] = frame["push"][kind]
        return body

    def wait_close(self) -> Optional[int]:
        for _ in self._frames(time.monotonic() + WAIT):
            pass
        return self.close_code


@pytest.fixture
def ws_factory() -> Iterator[Callable[..., WS]]:
    made: list[WS] = []

    def make(server: Server, project: str = "") -> WS:
        w = WS(server.ws_url(project))
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


def connected(make: Callable[..., WS], server: Server, tok: str, project: str = "") -> WS:
    w = make(server, project)
    frame, code = w.connect(tok)
    assert code is None and frame is not None and "error" not in frame, (frame, code)
    return w
