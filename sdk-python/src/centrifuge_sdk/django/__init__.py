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

Then ``get_client().publish(...)`` in views and tasks, and in templates either
the context processor ``centrifuge_sdk.django.context_processors.centrifuge``
(``{{ centrifuge.endpoint }}``, ``{{ centrifuge.token }}``) or the tags of
``{% load centrifuge %}``.
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Optional, Union
from urllib.parse import quote, urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import cached_property

from ..client import DEFAULT_TIMEOUT, Client
from ..tokens import make_connection_token, make_subscription_token

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

    User = Union[AbstractBaseUser, AnonymousUser]

__all__ = [
    "BrowserConfig",
    "connection_token",
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


def _signing() -> tuple[Any, str, Optional[timedelta]]:
    algorithm: str = _setting("CENTRIFUGE_TOKEN_ALGORITHM", "HS256")
    if algorithm == "HS256":
        key = _setting("CENTRIFUGE_SECRET", required=True)
    else:
        key = _setting("CENTRIFUGE_TOKEN_PRIVATE_KEY", required=True)
    ttl = _setting("CENTRIFUGE_TOKEN_TTL", 3600)
    return key, algorithm, (timedelta(seconds=ttl) if ttl else None)


def connection_token(user: Optional[User], *, info: Any = None) -> str:
    """A connection token for ``user`` (anonymous when not authenticated)."""
    key, algorithm, ttl = _signing()
    return make_connection_token(key, user_id(user), exp=ttl, info=info, algorithm=algorithm)


def subscription_token(user: Optional[User], channel: str, *, info: Any = None) -> str:
    """A subscription token letting ``user`` subscribe to the private ``channel``."""
    key, algorithm, ttl = _signing()
    return make_subscription_token(
        key, user_id(user), channel, exp=ttl, info=info, algorithm=algorithm
    )


class BrowserConfig:
    """What a page needs to connect: ``endpoint`` and ``token`` (made on first use)."""

    def __init__(self, user: Optional[User]) -> None:
        self._user = user

    @property
    def endpoint(self) -> str:
        return websocket_url()

    @cached_property
    def token(self) -> str:
        return connection_token(self._user)

    def as_dict(self) -> dict[str, str]:
        """``{"endpoint": ..., "token": ...}``, e.g. for the ``json_script`` filter."""
        return {"endpoint": self.endpoint, "token": self.token}
