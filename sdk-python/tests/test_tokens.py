"""Tokens from the helpers are accepted by the real server with their claims in
effect; wrong secrets, other projects' secrets, other keys and past expiry are
refused (close 3500 or error 109)."""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Optional

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

import centrifuge_sdk as cs

from conftest import OTHER_SECRET, SECRET, WS, Keys, Server, connected, token, uniq

HOUR = timedelta(hours=1)


def test_connection_token_with_every_claim(server: Server, ws_factory: Callable[..., WS]) -> None:
    user, ch = uniq("u"), uniq("claims")
    tok = cs.make_connection_token(
        SECRET, user, exp=timedelta(minutes=1), info={"name": "Bob"}, channels=[ch],
        expire_at=datetime.now(timezone.utc) + timedelta(hours=2), iat=int(time.time()) - 1,
    )
    w = ws_factory(server)
    frame, code = w.connect(tok)
    assert code is None and frame is not None and "connect" in frame, frame
    # expire_at, not exp, is the connection's expiry.
    assert frame["connect"]["expires"] and frame["connect"]["ttl"] > 7000
    assert ch in w.subs
    with server.client() as api:
        info = api.presence(ch).presence[w.client]
    assert (info.user, info.conn_info) == (user, {"name": "Bob"})


def test_anonymous_token_without_exp(server: Server, ws_factory: Callable[..., WS]) -> None:
    connected(ws_factory, server, cs.make_connection_token(SECRET, ""))


def test_other_project_with_its_secret(server: Server, ws_factory: Callable[..., WS]) -> None:
    connected(ws_factory, server, cs.make_connection_token(OTHER_SECRET, "1"), "other")


def test_subscription_token(server: Server, ws_factory: Callable[..., WS]) -> None:
    user, ch = uniq("u"), "$" + uniq("private")
    w = connected(ws_factory, server, token(user))
    frame, _ = w.call("subscribe", {"channel": ch})
    assert frame is not None and frame["error"]["code"] == 103
    sub = cs.make_subscription_token(SECRET, user, ch, exp=HOUR, info={"seat": 7})
    frame, code = w.call("subscribe", {"channel": ch, "token": sub})
    assert code is None and frame is not None and "error" not in frame, frame
    with server.client() as api:
        assert api.presence(ch).presence[w.client].chan_info == {"seat": 7}


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
@pytest.mark.parametrize("as_pem", [True, False], ids=["pem", "key-object"])
def test_rs256_es256(
    server: Server, ws_factory: Callable[..., WS], keys: Keys, algorithm: str, as_pem: bool
) -> None:
    key: Any = keys.rsa if algorithm == "RS256" else keys.ec
    if as_pem:
        key = keys.private_pem(key)
    user = uniq("u")
    tok = cs.make_connection_token(key, user, exp=HOUR, algorithm=algorithm)
    w = connected(ws_factory, server, tok, "keys")
    sub = cs.make_subscription_token(key, user, "$k", algorithm=algorithm)
    frame, code = w.call("subscribe", {"channel": "$k", "token": sub})
    assert code is None and frame is not None and "error" not in frame, frame


def _refused() -> list[Any]:
    later = timedelta(hours=1)
    other_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_ec = ec.generate_private_key(ec.SECP256R1())
    cases = [
        ("wrong secret", "", lambda: cs.make_connection_token("wrong-secret-0123456789abcdef012345", "1", exp=later), 3500, None),
        ("another project's secret", "", lambda: cs.make_connection_token(OTHER_SECRET, "1", exp=later), 3500, None),
        ("default's secret on another project", "other", lambda: cs.make_connection_token(SECRET, "1", exp=later), 3500, None),
        ("past exp", "", lambda: cs.make_connection_token(SECRET, "1", exp=-timedelta(minutes=1)), None, 109),
        ("past expire_at", "", lambda: cs.make_connection_token(SECRET, "1", expire_at=int(time.time()) - 60), None, 109),
        ("RS256 with another key", "keys", lambda: cs.make_connection_token(other_rsa, "1", exp=later, algorithm="RS256"), 3500, None),
        ("ES256 with another key", "keys", lambda: cs.make_connection_token(other_ec, "1", exp=later, algorithm="ES256"), 3500, None),
        ("HS256 where only keys are configured", "keys", lambda: cs.make_connection_token(SECRET, "1"), 3500, None),
    ]
    return [pytest.param(*c[1:], id=c[0]) for c in cases]


@pytest.mark.parametrize("project, make, close_code, error_code", _refused())
def test_refused(
    server: Server,
    ws_factory: Callable[..., WS],
    project: str,
    make: Callable[[], str],
    close_code: Optional[int],
    error_code: Optional[int],
) -> None:
    w = ws_factory(server, project)
    frame, code = w.connect(make())
    if close_code is not None:
        assert code == close_code, (frame, code)
    else:
        assert frame is not None and frame["error"]["code"] == error_code, (frame, code)


def test_subscription_token_with_wrong_secret(server: Server, ws_factory: Callable[..., WS]) -> None:
    user = uniq("u")
    w = connected(ws_factory, server, token(user))
    sub = cs.make_subscription_token(OTHER_SECRET, user, "$x")
    _, code = w.call("subscribe", {"channel": "$x", "token": sub})
    assert code == 3500


def _claims(tok: str) -> dict[str, Any]:
    payload = tok.split(".")[1]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return data


def test_claims() -> None:
    now = 1767225600
    tok = cs.make_connection_token(
        SECRET, "42", exp=now + 3600, iat=now, info={"a": 1}, channels=["news"], expire_at=0
    )
    assert _claims(tok) == {
        "sub": "42", "exp": now + 3600, "iat": now, "info": {"a": 1},
        "channels": ["news"], "expire_at": 0,
    }
    tok = cs.make_subscription_token(SECRET, "42", "$c", iat=now)
    assert _claims(tok) == {"sub": "42", "channel": "$c", "iat": now}
    header = json.loads(base64.urlsafe_b64decode(tok.split(".")[0] + "=="))
    assert header["alg"] == "HS256"


def test_helper_errors() -> None:
    with pytest.raises(ValueError):
        cs.make_connection_token("", "1")
    with pytest.raises(ValueError):
        cs.make_subscription_token(SECRET, "1", "")
    with pytest.raises(ValueError):
        cs.make_connection_token(SECRET, "1", info=object())
    with pytest.raises(ValueError):
        cs.make_connection_token(SECRET, "1", algorithm="none")
    with pytest.raises(ValueError):
        cs.make_connection_token("not a PEM key", "1", algorithm="RS256")
