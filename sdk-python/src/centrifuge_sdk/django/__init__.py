"""Django integration: a client and browser tokens from settings.

Add ``"centrifuge_sdk.django"`` to ``INSTALLED_APPS`` (for the template tags)
and configure::

    CENTRIFUGE_ADDRESS = "http://localhost:8000"  # server API, as seen from Django
    CENTRIFUGE_API_KEY = "..."                    # the project's api_key
    CENTRIFUGE_SECRET = "..."                     # the project's secret (HS256 tokens)
    # Optional:
    CENTRIFUGE_PROJECT = None                     # None: the project named default
    CENTRIFUGE_WEBSOCKET_URL = "wss://rt.example.com/connection/websocket"
                                                  # default: from CENTRIFUGE_ADDRESS
    CENTRIFUGE_TOKEN_TTL = 3600                   # seconds; None: tokens never expire
    CENTRIFUGE_TOKEN_ALGORITHM = "HS256"          # or "RS256"/"ES256" with:
    CENTRIFUGE_TOKEN_PRIVATE_KEY = None           # PEM private key
    CENTRIFUGE_TIMEOUT = 10.0                     # seconds per API call
    CENTRIFUGE_ANONYMOUS = True                   # False: anonymous visitors get no token

``manage.py check`` reports missing or wrong settings (``centrifuge.E001``...).
Then ``get_client().publish(...)`` in views and tasks (``await
get_async_client().publish(...)`` in async views), and in templates either
the context processor ``centrifuge_sdk.django.context_processors.centrifuge``
(``{{ centrifuge.endpoint }}``, ``{{ centrifuge.token }}``) or the tags of
``{% load centrifuge %}``.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Optional, Union
from urllib.parse import quote, urlsplit, urlunsplit

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest
from django.utils.functional import cached_property

from ..client import DEFAULT_TIMEOUT, AsyncClient, Client
from ..tokens import make_connection_token, make_subscription_token

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

    User = Union[AbstractBaseUser, AnonymousUser]

__all__ = [
    "BrowserConfig",
    "aconnection_token",
    "anonymous_allowed",
    "asubscription_token",
    "connection_token",
    "get_async_client",
    "get_client",
    "subscription_token",
    "user_id",
    "websocket_url",
]


def _setting(name: str, default: Any = None, *, required: bool = False) -> Any:
    value = getattr(settings, name, default)
    if required and not value:
        raise ImproperlyConfigured(f"settings.{name} is required by centrifuge_sdk.django")
    return value


def get_client() -> Client:
    """The :class:`~centrifuge_sdk.Client` of the settings (one per configuration, reused)."""
    return _client(
        _setting("CENTRIFUGE_ADDRESS", required=True),
        _setting("CENTRIFUGE_API_KEY", required=True),
        _setting("CENTRIFUGE_PROJECT"),
        float(_setting("CENTRIFUGE_TIMEOUT", DEFAULT_TIMEOUT)),
    )


@functools.lru_cache(maxsize=8)
def _client(address: str, api_key: str, project: Optional[str], timeout: float) -> Client:
    return Client(address, api_key, project=project, timeout=timeout)


_ClientKey = tuple[str, str, Optional[str], float]
# One AsyncClient per event loop and configuration: an httpx.AsyncClient's
# connections belong to the loop that opened them (under WSGI each async view
# runs in a loop of its own; under ASGI one loop serves every request).
_async_clients: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[_ClientKey, AsyncClient]
] = weakref.WeakKeyDictionary()


def get_async_client() -> AsyncClient:
    """The :class:`~centrifuge_sdk.AsyncClient` of the settings for the running
    event loop (one per loop and configuration, reused): for async views,
    ``await get_async_client().publish(...)``. Call it from a coroutine."""
    loop = asyncio.get_running_loop()
    key: _ClientKey = (
        _setting("CENTRIFUGE_ADDRESS", required=True),
        _setting("CENTRIFUGE_API_KEY", required=True),
        _setting("CENTRIFUGE_PROJECT"),
        float(_setting("CENTRIFUGE_TIMEOUT", DEFAULT_TIMEOUT)),
    )
    clients = _async_clients.setdefault(loop, {})
    client = clients.get(key)
    if client is None:
        client = clients[key] = AsyncClient(key[0], key[1], project=key[2], timeout=key[3])
    return client


def websocket_url() -> str:
    """The WebSocket endpoint browsers connect to: ``CENTRIFUGE_WEBSOCKET_URL``,
    or derived from ``CENTRIFUGE_ADDRESS`` and ``CENTRIFUGE_PROJECT``."""
    url: Optional[str] = _setting("CENTRIFUGE_WEBSOCKET_URL")
    if url:
        return url
    address: str = _setting("CENTRIFUGE_ADDRESS", required=True)
    parts = urlsplit(address if "://" in address else "http://" + address)
    scheme = "wss" if parts.scheme == "https" else "ws"
    project: Optional[str] = _setting("CENTRIFUGE_PROJECT")
    path = parts.path.rstrip("/") + "/connection/"
    if project:
        path += quote(project, safe="") + "/"
    return urlunsplit((scheme, parts.netloc, path + "websocket", "", ""))


def user_id(user: Optional[User]) -> str:
    """The token's user id: the primary key of an authenticated user, else ``""``."""
    if user is None or not user.is_authenticated:
        return ""
    return str(user.pk)


def anonymous_allowed() -> bool:
    """``CENTRIFUGE_ANONYMOUS`` (default True): whether anonymous visitors get a
    connection token (with the empty user ``""``).

    The server accepts such a connection, and lets it subscribe only to the
    channels of namespaces (or projects) with ``allow_anonymous: true``.
    """
    return bool(_setting("CENTRIFUGE_ANONYMOUS", True))


def _signing() -> tuple[Any, str, Optional[timedelta]]:
    algorithm: str = _setting("CENTRIFUGE_TOKEN_ALGORITHM", "HS256")
    if algorithm == "HS256":
        key = _setting("CENTRIFUGE_SECRET", required=True)
    else:
        key = _setting("CENTRIFUGE_TOKEN_PRIVATE_KEY", required=True)
    ttl = _setting("CENTRIFUGE_TOKEN_TTL", 3600)
    return key, algorithm, (timedelta(seconds=ttl) if ttl else None)


def connection_token(
    user: Optional[User], *, info: Any = None, channels: Optional[list[str]] = None
) -> str:
    """A connection token for ``user`` (anonymous when not authenticated).

    ``info`` is shown to other clients in presence and join/leave; ``channels``
    are server-side subscriptions. Raises :class:`PermissionDenied` for an
    anonymous visitor when ``CENTRIFUGE_ANONYMOUS`` is False.
    """
    uid = user_id(user)
    if not uid and not anonymous_allowed():
        raise PermissionDenied("anonymous visitors get no Centrifuge token (CENTRIFUGE_ANONYMOUS = False)")
    key, algorithm, ttl = _signing()
    return make_connection_token(
        key, uid, exp=ttl, info=info, channels=channels, algorithm=algorithm
    )


def subscription_token(user: Optional[User], channel: str, *, info: Any = None) -> str:
    """A subscription token letting ``user`` subscribe to the private ``channel``."""
    uid = user_id(user)
    if not uid and not anonymous_allowed():
        raise PermissionDenied("anonymous visitors get no Centrifuge token (CENTRIFUGE_ANONYMOUS = False)")
    key, algorithm, ttl = _signing()
    return make_subscription_token(key, uid, channel, exp=ttl, info=info, algorithm=algorithm)


async def _auser(request: HttpRequest) -> Any:
    auser = getattr(request, "auser", None)  # Django 5.0+
    if auser is not None:
        return await auser()
    return await sync_to_async(lambda: getattr(request, "user", None))()


async def aconnection_token(
    request: HttpRequest, *, info: Any = None, channels: Optional[list[str]] = None
) -> str:
    """:func:`connection_token` for the request's user, from an async view
    (the user is loaded without blocking the event loop)."""
    return connection_token(await _auser(request), info=info, channels=channels)


async def asubscription_token(request: HttpRequest, channel: str, *, info: Any = None) -> str:
    """:func:`subscription_token` for the request's user, from an async view."""
    return subscription_token(await _auser(request), channel, info=info)


class BrowserConfig:
    """What a page needs to connect: ``endpoint``, ``token`` (made on first
    use; ``""`` for an anonymous visitor when ``CENTRIFUGE_ANONYMOUS`` is
    False) and ``user`` (``""`` when anonymous)."""

    def __init__(self, user: Optional[User]) -> None:
        self._user = user

    @property
    def endpoint(self) -> str:
        return websocket_url()

    @property
    def user(self) -> str:
        return user_id(self._user)

    @cached_property
    def token(self) -> str:
        if not self.user and not anonymous_allowed():
            return ""
        return connection_token(self._user)

    def as_dict(self) -> dict[str, str]:
        """``{"endpoint", "token", "user"}``, e.g. for the ``json_script`` filter."""
        return {"endpoint": self.endpoint, "token": self.token, "user": self.user}
