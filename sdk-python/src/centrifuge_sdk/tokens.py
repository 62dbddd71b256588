"""Connection and subscription tokens (JWT, PROTOCOL.md section 6).

HS256 tokens are signed with the project's ``secret``. RS256 and ES256 tokens
are signed with a private key (PEM, or a ``cryptography`` key object) whose
public key the project has as ``token_rsa_public_key`` or
``token_ecdsa_public_key``; they need the ``crypto`` extra
(``pip install "centrifuge-sdk[crypto]"``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Optional, Union

import jwt

from .errors import CentrifugeError

#: Unix seconds, an aware datetime, or a timedelta from now.
When = Union[int, float, datetime, timedelta]

ALGORITHMS = ("HS256", "RS256", "ES256")


def make_connection_token(
    key: Any,
    user: str,
    *,
    exp: Optional[When] = None,
    info: Any = None,
    channels: Optional[Sequence[str]] = None,
    expire_at: Optional[When] = None,
    iat: Optional[When] = None,
    algorithm: str = "HS256",
) -> str:
    """A connection token for ``user`` (``""``: anonymous).

    ``exp``: when the token (and the connection, unless ``expire_at``) expires,
    e.g. ``timedelta(hours=1)``; None makes a token without expiry. ``info``
    (any JSON value) is shown in presence and join/leave. ``channels`` are
    subscribed to server-side on connect. ``expire_at``: when the connection
    expires, if that differs from ``exp`` (0: never). ``iat`` defaults to now.
    """
    claims = _claims(user, exp, info, expire_at, iat)
    if channels is not None:
        claims["channels"] = list(channels)
    return _sign(claims, key, algorithm)


def make_subscription_token(
    key: Any,
    user: str,
    channel: str,
    *,
    exp: Optional[When] = None,
    info: Any = None,
    expire_at: Optional[When] = None,
    iat: Optional[When] = None,
    algorithm: str = "HS256",
) -> str:
    """A subscription token letting ``user`` (the connection's user) subscribe
    to the private channel ``channel``. ``info`` is the channel info shown in
    presence; the other arguments are those of :func:`make_connection_token`."""
    if not channel:
        raise ValueError("channel is required")
    claims = _claims(user, exp, info, expire_at, iat)
    claims["channel"] = channel
    return _sign(claims, key, algorithm)


def _unix(t: When, now: float) -> int:
    if isinstance(t, timedelta):
        return int(now + t.total_seconds())
    if isinstance(t, datetime):
        return int(t.timestamp())
    return int(t)


def _claims(
    user: str, exp: Optional[When], info: Any, expire_at: Optional[When], iat: Optional[When]
) -> dict[str, Any]:
    now = time.time()
    claims: dict[str, Any] = {"sub": user, "iat": _unix(iat, now) if iat is not None else int(now)}
    if exp is not None:
        claims["exp"] = _unix(exp, now)
    if expire_at is not None:
        claims["expire_at"] = max(_unix(expire_at, now), 0)
    if info is not None:
        try:
            json.dumps(info)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"info is not JSON-serializable: {exc}") from exc
        claims["info"] = info
    return claims


def _sign(claims: dict[str, Any], key: Any, algorithm: str) -> str:
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}, not {algorithm!r}")
    if algorithm == "HS256" and (not isinstance(key, (str, bytes)) or not key):
        raise ValueError("HS256 needs the project's secret (a non-empty str)")
    try:
        return jwt.encode(claims, key, algorithm=algorithm)
    except NotImplementedError as exc:  # PyJWT without cryptography
        raise CentrifugeError(
            f"{algorithm} needs the cryptography package: pip install 'centrifuge-sdk[crypto]'"
        ) from exc
    except (ValueError, TypeError, jwt.exceptions.PyJWTError) as exc:
        raise ValueError(f"cannot sign an {algorithm} token with this key: {exc}") from exc
