"""Batch: several commands for one ``Client.batch`` request."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional

from . import _wire, models


class Batch:
    """Commands collected for :meth:`Client.batch` / :meth:`AsyncClient.batch`.

    Its methods mirror the clients' (but batch) and return the batch, so that
    calls chain::

        batch = Batch().publish("news", {"text": "hi"}).presence_stats("news")
        replies = client.batch(batch)  # replies[0].publish, replies[1].presence_stats
    """

    def __init__(self) -> None:
        self.commands: list[models.Command] = []

    def __len__(self) -> int:
        return len(self.commands)

    def publish(
        self,
        channel: str,
        data: Any,
        *,
        skip_history: Optional[bool] = None,
        tags: Optional[Mapping[str, str]] = None,
        idempotency_key: Optional[str] = None,
        delta: Optional[bool] = None,
    ) -> Batch:
        req = _wire.publish(channel, data, skip_history, tags, idempotency_key, delta)
        self.commands.append(models.Command(publish=req))
        return self

    def broadcast(
        self,
        channels: Sequence[str],
        data: Any,
        *,
        skip_history: Optional[bool] = None,
        tags: Optional[Mapping[str, str]] = None,
        idempotency_key: Optional[str] = None,
        delta: Optional[bool] = None,
    ) -> Batch:
        req = _wire.broadcast(channels, data, skip_history, tags, idempotency_key, delta)
        self.commands.append(models.Command(broadcast=req))
        return self

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
    ) -> Batch:
        self.commands.append(models.Command(subscribe=_wire.subscribe(user, channel, client, data, info, recover_since, override)))
        return self

    def unsubscribe(self, user: str, channel: str, *, client: Optional[str] = None) -> Batch:
        self.commands.append(models.Command(unsubscribe=_wire.unsubscribe(user, channel, client)))
        return self

    def disconnect(
        self,
        user: str,
        *,
        client: Optional[str] = None,
        disconnect: Optional[models.Disconnect] = None,
        whitelist: Optional[Sequence[str]] = None,
    ) -> Batch:
        self.commands.append(models.Command(disconnect=_wire.disconnect(user, client, disconnect, whitelist)))
        return self

    def refresh(
        self,
        user: str,
        *,
        client: Optional[str] = None,
        expired: Optional[bool] = None,
        expire_at: Optional[_wire.Timestamp] = None,
        info: Any = None,
    ) -> Batch:
        req = _wire.refresh(user, client, expired, expire_at, info)
        self.commands.append(models.Command(refresh=req))
        return self

    def presence(self, channel: str) -> Batch:
        self.commands.append(models.Command(presence=_wire.presence(channel)))
        return self

    def presence_stats(self, channel: str) -> Batch:
        self.commands.append(models.Command(presence_stats=_wire.presence_stats(channel)))
        return self

    def history(
        self,
        channel: str,
        *,
        limit: Optional[int] = None,
        since: Optional[models.StreamPosition] = None,
        reverse: Optional[bool] = None,
    ) -> Batch:
        self.commands.append(models.Command(history=_wire.history(channel, limit, since, reverse)))
        return self

    def history_remove(self, channel: str) -> Batch:
        self.commands.append(models.Command(history_remove=_wire.history_remove(channel)))
        return self

    def channels(self, *, pattern: Optional[str] = None) -> Batch:
        self.commands.append(models.Command(channels=_wire.channels(pattern)))
        return self

    def info(self) -> Batch:
        self.commands.append(models.Command(info=_wire.info()))
        return self
