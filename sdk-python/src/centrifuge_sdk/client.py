"""Client and AsyncClient: the Centrifuge server API, one method per operation
of openapi.yaml, with the models generated from it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Optional, TypeVar, Union
from urllib.parse import quote

import httpx
import pydantic

from . import _wire, models
from ._version import __version__
from .batch import Batch
from .errors import NetworkError, RequestTimeoutError

E = TypeVar("E", bound=pydantic.BaseModel)

#: Seconds each call may take by default.
DEFAULT_TIMEOUT = 10.0

Commands = Union[Batch, Sequence[models.Command]]


class _Base:
    def __init__(self, address: str, api_key: str, project: Optional[str]) -> None:
        if not address:
            raise ValueError("address is required, e.g. 'http://localhost:8000'")
        if not api_key:
            raise ValueError("api_key is required")
        if "://" not in address:
            address = "http://" + address
        if not address.startswith(("http://", "https://")):
            raise ValueError(f"address {address!r} is not an http(s) URL")
        base = address.rstrip("/") + "/api/"
        if project:
            base += quote(project, safe="") + "/"
        self._base = base
        self._headers = {
            "X-API-Key": api_key,
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": f"centrifuge-sdk-python/{__version__}",
        }

    def _url(self, method: str) -> str:
        return self._base + method


def _commands(commands: Commands) -> list[models.Command]:
    return commands.commands if isinstance(commands, Batch) else list(commands)


class Client(_Base):
    """The server API of one project, over a pooled ``httpx.Client``.

    ``address`` is the server's base URL (``"http://localhost:8000"``, a path
    prefix is kept), ``api_key`` the project's key, ``project`` its name (None:
    the project named default). ``timeout`` bounds each call, in seconds.
    Pass ``http_client`` to share or configure the HTTP client (it is then not
    closed by :meth:`close`).

    Every method raises :class:`~centrifuge_sdk.errors.CentrifugeError`
    subclasses: ``APIError`` (with ``code``), ``NetworkError``,
    ``RequestTimeoutError``, ``ResponseError``.
    """

    def __init__(
        self,
        address: str,
        api_key: str,
        *,
        project: Optional[str] = None,
        timeout: float = DEFAULT_TIMEOUT,
        http_client: Optional[httpx.Client] = None,
    ) -> None:
        super().__init__(address, api_key, project)
        self._own = http_client is None
        self._http = http_client if http_client is not None else httpx.Client(timeout=timeout)

    def close(self) -> None:
        """Close the HTTP client (unless it was passed in)."""
        if self._own:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def _call(self, method: str, request: pydantic.BaseModel, answer: type[E]) -> E:
        try:
            r = self._http.post(self._url(method), content=_wire.encode(request), headers=self._headers)
        except httpx.TimeoutException as exc:
            raise RequestTimeoutError(f"timed out: {exc}", method=method) from exc
        except httpx.HTTPError as exc:
            raise NetworkError(f"{type(exc).__name__}: {exc}", method=method) from exc
        return _wire.decode(method, r.status_code, r.content, answer)

    def publish(
        self,
        channel: str,
        data: Any,
        *,
        skip_history: Optional[bool] = None,
        tags: Optional[Mapping[str, str]] = None,
        idempotency_key: Optional[str] = None,
        delta: Optional[bool] = None,
    ) -> models.PublishResult:
        """Send ``data`` (any JSON value; ``bytes`` go as binary ``b64data``) to
        every subscriber of ``channel`` and, when the channel keeps history,
        append it to the channel's stream. ``delta`` asks for delta compression
        (this server's subscribers always get full publications)."""
        req = _wire.publish(channel, data, skip_history, tags, idempotency_key, delta)
        return _wire.result("publish", self._call("publish", req, models.PublishResponse))

    def broadcast(
        self,
        channels: Sequence[str],
        data: Any,
        *,
        skip_history: Optional[bool] = None,
        tags: Optional[Mapping[str, str]] = None,
        idempotency_key: Optional[str] = None,
        delta: Optional[bool] = None,
    ) -> models.BroadcastResult:
        """Publish ``data`` into each of ``channels``: one response per channel,
        in order; a failed channel's response has ``error`` set
        (:func:`~centrifuge_sdk.reply_error` turns it into an ``APIError``)."""
        req = _wire.broadcast(channels, data, skip_history, tags, idempotency_key, delta)
        return _wire.result("broadcast", self._call("broadcast", req, models.BroadcastResponse))

    def subscribe(
        self,
        user: str,
        channel: str,
        *,
        client: Optional[str] = None,
        data: Any = None,
        info: Any = None,
        recover_since: Optional[models.StreamPosition] = None,
        override: Optional[models.ChannelOptionsOverride] = None,
    ) -> None:
        """Subscribe every connection of ``user`` (or only ``client``) to
        ``channel``: ``data`` (JSON) goes in their subscribe push, ``info`` (JSON)
        is the subscription's channel info, ``recover_since`` sends the
        publications after that position, ``override`` replaces channel options."""
        req = _wire.subscribe(user, channel, client, data, info, recover_since, override)
        _wire.result("subscribe", self._call("subscribe", req, models.SubscribeResponse))

    def unsubscribe(self, user: str, channel: str, *, client: Optional[str] = None) -> None:
        """Unsubscribe every connection of ``user`` (or only ``client``) from ``channel``."""
        req = _wire.unsubscribe(user, channel, client)
        _wire.result("unsubscribe", self._call("unsubscribe", req, models.UnsubscribeResponse))

    def disconnect(
        self,
        user: str,
        *,
        client: Optional[str] = None,
        disconnect: Optional[models.Disconnect] = None,
        whitelist: Optional[Sequence[str]] = None,
    ) -> None:
        """Close every connection of ``user`` (or only ``client``) with code 3503
        (no reconnect) or ``disconnect``'s code and reason, except the connections
        whose client ids are in ``whitelist``."""
        req = _wire.disconnect(user, client, disconnect, whitelist)
        _wire.result("disconnect", self._call("disconnect", req, models.DisconnectResponse))

    def refresh(
        self,
        user: str,
        *,
        client: Optional[str] = None,
        expired: Optional[bool] = None,
        expire_at: Optional[_wire.Timestamp] = None,
        info: Any = None,
    ) -> None:
        """Set the expiry (``expire_at``, Unix seconds or datetime; 0 never) and
        info (any JSON value; None keeps the current one) of every connection of
        ``user`` (or only ``client``), or with ``expired=True`` disconnect them
        (3005) so that they reconnect with a fresh token."""
        req = _wire.refresh(user, client, expired, expire_at, info)
        _wire.result("refresh", self._call("refresh", req, models.RefreshResponse))

    def presence(self, channel: str) -> models.PresenceResult:
        """The connections subscribed to ``channel``, keyed by client id."""
        req = _wire.presence(channel)
        return _wire.result("presence", self._call("presence", req, models.PresenceResponse))

    def presence_stats(self, channel: str) -> models.PresenceStatsResult:
        """How many connections and unique users are subscribed to ``channel``."""
        req = _wire.presence_stats(channel)
        return _wire.result(
            "presence_stats", self._call("presence_stats", req, models.PresenceStatsResponse)
        )

    def history(
        self,
        channel: str,
        *,
        limit: Optional[int] = None,
        since: Optional[models.StreamPosition] = None,
        reverse: Optional[bool] = None,
    ) -> models.HistoryResult:
        """``channel``'s history: only the stream position unless ``limit`` is
        given (negative: all kept publications); ``since`` and ``reverse`` page."""
        req = _wire.history(channel, limit, since, reverse)
        return _wire.result("history", self._call("history", req, models.HistoryResponse))

    def history_remove(self, channel: str) -> None:
        """Drop ``channel``'s kept publications (the stream position is kept)."""
        req = _wire.history_remove(channel)
        _wire.result("history_remove", self._call("history_remove", req, models.HistoryRemoveResponse))

    def channels(self, *, pattern: Optional[str] = None) -> models.ChannelsResult:
        """The channels with subscribers, across all nodes, matching ``pattern``."""
        req = _wire.channels(pattern)
        return _wire.result("channels", self._call("channels", req, models.ChannelsResponse))

    def info(self) -> models.InfoResult:
        """Every live node."""
        return _wire.result("info", self._call("info", _wire.info(), models.InfoResponse))

    def batch(self, commands: Commands, *, parallel: Optional[bool] = None) -> list[models.Reply]:
        """Run ``commands`` (a :class:`Batch`) in one request: one reply per
        command, in order; a failed command's reply has ``error`` set."""
        req = _wire.batch(_commands(commands), parallel)
        return self._call("batch", req, models.BatchResponse).replies


class AsyncClient(_Base):
    """The asyncio twin of :class:`Client`, over a pooled ``httpx.AsyncClient``:
    the same methods, awaited. Close it with ``await client.aclose()`` or use
    ``async with``."""

    def __init__(
        self,
        address: str,
        api_key: str,
        *,
        project: Optional[str] = None,
        timeout: float = DEFAULT_TIMEOUT,
        http_client: Optional[httpx.AsyncClient] = None,
    ) -> None:
        super().__init__(address, api_key, project)
        self._own = http_client is None
        self._http = http_client if http_client is not None else httpx.AsyncClient(timeout=timeout)

    async def aclose(self) -> None:
        """Close the HTTP client (unless it was passed in)."""
        if self._own:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        await self.aclose()

    async def _call(self, method: str, request: pydantic.BaseModel, answer: type[E]) -> E:
        try:
            r = await self._http.post(
                self._url(method), content=_wire.encode(request), headers=self._headers
            )
        except httpx.TimeoutException as exc:
            raise RequestTimeoutError(f"timed out: {exc}", method=method) from exc
        except httpx.HTTPError as exc:
            raise NetworkError(f"{type(exc).__name__}: {exc}", method=method) from exc
        return _wire.decode(method, r.status_code, r.content, answer)

    async def publish(
        self,
        channel: str,
        data: Any,
        *,
        skip_history: Optional[bool] = None,
        tags: Optional[Mapping[str, str]] = None,
        idempotency_key: Optional[str] = None,
        delta: Optional[bool] = None,
    ) -> models.PublishResult:
        """See :meth:`Client.publish`."""
        req = _wire.publish(channel, data, skip_history, tags, idempotency_key, delta)
        return _wire.result("publish", await self._call("publish", req, models.PublishResponse))

    async def broadcast(
        self,
        channels: Sequence[str],
        data: Any,
        *,
        skip_history: Optional[bool] = None,
        tags: Optional[Mapping[str, str]] = None,
        idempotency_key: Optional[str] = None,
        delta: Optional[bool] = None,
    ) -> models.BroadcastResult:
        """See :meth:`Client.broadcast`."""
        req = _wire.broadcast(channels, data, skip_history, tags, idempotency_key, delta)
        return _wire.result("broadcast", await self._call("broadcast", req, models.BroadcastResponse))

    async def subscribe(
        self,
        user: str,
        channel: str,
        *,
        client: Optional[str] = None,
        data: Any = None,
        info: Any = None,
        recover_since: Optional[models.StreamPosition] = None,
        override: Optional[models.ChannelOptionsOverride] = None,
    ) -> None:
        """See :meth:`Client.subscribe`."""
        req = _wire.subscribe(user, channel, client, data, info, recover_since, override)
        _wire.result("subscribe", await self._call("subscribe", req, models.SubscribeResponse))

    async def unsubscribe(self, user: str, channel: str, *, client: Optional[str] = None) -> None:
        """See :meth:`Client.unsubscribe`."""
        req = _wire.unsubscribe(user, channel, client)
        _wire.result("unsubscribe", await self._call("unsubscribe", req, models.UnsubscribeResponse))

    async def disconnect(
        self,
        user: str,
        *,
        client: Optional[str] = None,
        disconnect: Optional[models.Disconnect] = None,
        whitelist: Optional[Sequence[str]] = None,
    ) -> None:
        """See :meth:`Client.disconnect`."""
        req = _wire.disconnect(user, client, disconnect, whitelist)
        _wire.result("disconnect", await self._call("disconnect", req, models.DisconnectResponse))

    async def refresh(
        self,
        user: str,
        *,
        client: Optional[str] = None,
        expired: Optional[bool] = None,
        expire_at: Optional[_wire.Timestamp] = None,
        info: Any = None,
    ) -> None:
        """See :meth:`Client.refresh`."""
        req = _wire.refresh(user, client, expired, expire_at, info)
        _wire.result("refresh", await self._call("refresh", req, models.RefreshResponse))

    async def presence(self, channel: str) -> models.PresenceResult:
        """See :meth:`Client.presence`."""
        req = _wire.presence(channel)
        return _wire.result("presence", await self._call("presence", req, models.PresenceResponse))

    async def presence_stats(self, channel: str) -> models.PresenceStatsResult:
        """See :meth:`Client.presence_stats`."""
        req = _wire.presence_stats(channel)
        return _wire.result(
            "presence_stats", await self._call("presence_stats", req, models.PresenceStatsResponse)
        )

    async def history(
        self,
        channel: str,
        *,
        limit: Optional[int] = None,
        since: Optional[models.StreamPosition] = None,
        reverse: Optional[bool] = None,
    ) -> models.HistoryResult:
        """See :meth:`Client.history`."""
        req = _wire.history(channel, limit, since, reverse)
        return _wire.result("history", await self._call("history", req, models.HistoryResponse))

    async def history_remove(self, channel: str) -> None:
        """See :meth:`Client.history_remove`."""
        req = _wire.history_remove(channel)
        _wire.result(
            "history_remove", await self._call("history_remove", req, models.HistoryRemoveResponse)
        )

    async def channels(self, *, pattern: Optional[str] = None) -> models.ChannelsResult:
        """See :meth:`Client.channels`."""
        req = _wire.channels(pattern)
        return _wire.result("channels", await self._call("channels", req, models.ChannelsResponse))

    async def info(self) -> models.InfoResult:
        """See :meth:`Client.info`."""
        return _wire.result("info", await self._call("info", _wire.info(), models.InfoResponse))

    async def batch(
        self, commands: Commands, *, parallel: Optional[bool] = None
    ) -> list[models.Reply]:
        """See :meth:`Client.batch`."""
        req = _wire.batch(_commands(commands), parallel)
        return (await self._call("batch", req, models.BatchResponse)).replies
