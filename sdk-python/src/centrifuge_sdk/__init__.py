"""Centrifuge server API client and token helpers.

>>> from centrifuge_sdk import Client, make_connection_token
>>> client = Client("http://localhost:8000", api_key="...")
>>> client.publish("news", {"text": "hello"})  # doctest: +SKIP
PublishResult(offset=1, epoch='...')

:class:`Client` (sync) and :class:`AsyncClient` (asyncio) have one method per
operation of the server API (openapi.yaml), taking and returning the pydantic
models of :mod:`centrifuge_sdk.models`, generated from the same file.
"""

from ._version import __version__
from ._wire import reply_error
from .batch import Batch
from .client import DEFAULT_TIMEOUT, AsyncClient, Client
from .codes import DisconnectCode, UnsubscribeCode, disconnect_reconnects
from .errors import (
    APIError,
    CentrifugeError,
    ErrorCode,
    NetworkError,
    RequestTimeoutError,
    ResponseError,
)
from .models import (
    ClientInfo,
    Command,
    Disconnect,
    Publication,
    Reply,
    StreamPosition,
)
from .tokens import make_connection_token, make_subscription_token

__all__ = [
    "DEFAULT_TIMEOUT",
    "APIError",
    "AsyncClient",
    "Batch",
    "CentrifugeError",
    "Client",
    "ClientInfo",
    "Command",
    "Disconnect",
    "DisconnectCode",
    "ErrorCode",
    "NetworkError",
    "Publication",
    "Reply",
    "RequestTimeoutError",
    "ResponseError",
    "StreamPosition",
    "UnsubscribeCode",
    "__version__",
    "disconnect_reconnects",
    "make_connection_token",
    "make_subscription_token",
    "reply_error",
]
