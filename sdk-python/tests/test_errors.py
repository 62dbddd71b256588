"""Error paths of both clients: server down, timeout, HTTP errors with their
code, method errors, and answers that are not what the spec says."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from typing import Any, Callable

import httpx
import pytest

import centrifuge_sdk as cs

from conftest import API_KEY, Server, free_port


def both(address: str, api_key: str = API_KEY, **kwargs: Any) -> list[Callable[[str], Any]]:
    """Callers of publish through Client and AsyncClient."""

    def sync(channel: str) -> Any:
        with cs.Client(address, api_key, **kwargs) as c:
            return c.publish(channel, 1)

    def run_async(channel: str) -> Any:
        async def go() -> Any:
            async with cs.AsyncClient(address, api_key, **kwargs) as c:
                return await c.publish(channel, 1)

        return asyncio.run(go())

    return [sync, run_async]


def test_server_down() -> None:
    address = f"http://127.0.0.1:{free_port()}"
    for call in both(address):
        with pytest.raises(cs.NetworkError) as exc:
            call("news")
        assert not isinstance(exc.value, cs.RequestTimeoutError)
        assert isinstance(exc.value.__cause__, httpx.ConnectError)
        assert exc.value.method == "publish"


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                accepted.append(conn)
            except OSError:
                pass

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    stop.set()
    t.join()
    for c in accepted:
        c.close()
    sock.close()


def test_timeout(silent_server: str) -> None:
    for call in both(silent_server, timeout=0.2):
        with pytest.raises(cs.RequestTimeoutError) as exc:
            call("news")
        assert isinstance(exc.value, cs.NetworkError)
        assert isinstance(exc.value.__cause__, httpx.TimeoutException)


@pytest.mark.parametrize(
    "project, key, status",
    [(None, "wrong-key-0123456789", 401), ("other", API_KEY, 401), ("shop", API_KEY, 404)],
    ids=["wrong key", "another project's key", "unknown project"],
)
def test_http_errors(memory_server: Server, project: Any, key: str, status: int) -> None:
    for call in both(memory_server.url, key, project=project):
        with pytest.raises(cs.APIError) as exc:
            call("news")
        e = exc.value
        assert (e.code, e.http_status) == (status, status) and e.message
        assert f"HTTP {status}" in str(e)


def _mock(status: int, body: bytes, ctype: str) -> httpx.MockTransport:
    return httpx.MockTransport(lambda req: httpx.Response(status, content=body, headers={"Content-Type": ctype}))


@pytest.mark.parametrize(
    "status, body, ctype, exc_type, code",
    [
        (502, b"<html>Bad Gateway</html>", "text/html", cs.APIError, 502),
        (405, b'{"error":{"code":405,"message":"method not allowed"}}', "application/json", cs.APIError, 405),
        (200, b'{"result":', "application/json", cs.ResponseError, None),
        (200, b'{"result":{"offset":"x"}}', "application/json", cs.ResponseError, None),
        (200, b"{}", "application/json", cs.ResponseError, None),
    ],
    ids=["html 502", "json 405", "truncated", "wrong type", "neither result nor error"],
)
def test_unexpected_answers(status: int, body: bytes, ctype: str, exc_type: type, code: Any) -> None:
    with cs.Client("http://x", "k", http_client=httpx.Client(transport=_mock(status, body, ctype))) as c:
        with pytest.raises(exc_type) as exc:
            c.publish("news", 1)
    if code is not None:
        assert exc.value.code == code and exc.value.http_status == status


def test_requests() -> None:
    """Path per project, API key header, the body as JSON."""
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200, json={"result": {"offset": 1, "epoch": "e"}})

    cases = [
        ("http://h", None, "/api/publish"),
        ("http://h/", "shop", "/api/shop/publish"),
        ("http://h/rt", None, "/rt/api/publish"),
        ("h:8000", None, "/api/publish"),
    ]
    for address, project, path in cases:
        with cs.Client(address, "k", project=project,
                       http_client=httpx.Client(transport=httpx.MockTransport(handler))) as c:
            res = c.publish("news", {"a": [1, 2.5]})
        assert (res.offset, res.epoch) == (1, "e")
        assert seen[-1].url.path == path and seen[-1].headers["X-API-Key"] == "k"
        assert seen[-1].content == b'{"channel":"news","data":{"a":[1,2.5]}}'

    for bad in [("", "k"), ("http://h", ""), ("ftp://h", "k")]:
        with pytest.raises(ValueError):
            cs.Client(*bad)


def test_passed_http_client_is_not_closed() -> None:
    http = httpx.Client(transport=_mock(200, b'{"result":{}}', "application/json"))
    with cs.Client("http://h", "k", http_client=http) as c:
        c.subscribe("u", "ch")
    assert not http.is_closed
    http.close()


def test_temporary_follows_the_servers_list() -> None:
    assert cs.APIError(100, "internal").temporary
    assert cs.APIError(cs.ErrorCode.TOO_MANY_REQUESTS, "slow down").temporary
    assert not cs.APIError(102, "unknown channel").temporary
    assert not cs.APIError(503, "unavailable", http_status=503).temporary


def test_disconnect_codes() -> None:
    assert cs.DisconnectCode.FORCE_NO_RECONNECT == 3503
    assert not cs.disconnect_reconnects(cs.DisconnectCode.FORCE_NO_RECONNECT)
    assert cs.disconnect_reconnects(cs.DisconnectCode.SHUTDOWN)
    assert cs.disconnect_reconnects(4000) and not cs.disconnect_reconnects(4500)
    assert cs.UnsubscribeCode.EXPIRED == 2501
