"""Requests and answers shared by Client, AsyncClient and Batch."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Optional, Protocol, TypeVar, Union

import pydantic

from . import models
from .errors import APIError, ResponseError

T_co = TypeVar("T_co", covariant=True)
E = TypeVar("E", bound=pydantic.BaseModel)

#: Unix seconds or an aware datetime.
Timestamp = Union[int, datetime]


class Envelope(Protocol[T_co]):
    """``{"result": ...}`` or ``{"error": ...}``: every answer but batch's."""

    @property
    def error(self) -> Optional[models.Error]: ...

    @property
    def result(self) -> Optional[T_co]: ...


def _set(**fields: Any) -> dict[str, Any]:
    """The fields that are not None: only they are sent."""
    return {k: v for k, v in fields.items() if v is not None}


def unix(t: Optional[Timestamp]) -> Optional[int]:
    if t is None or isinstance(t, int):
        return t
    return int(t.timestamp())


def payload(data: Any) -> dict[str, Any]:
    """``data`` as the request's field: bytes go base64 in ``b64data``, anything
    else is JSON in ``data``."""
    if isinstance(data, (bytes, bytearray)):
        return {"b64data": base64.b64encode(bytes(data)).decode()}
    return {"data": data}


def publish(
    channel: str,
    data: Any,
    skip_history: Optional[bool],
    tags: Optional[Mapping[str, str]],
    idempotency_key: Optional[str],
    delta: Optional[bool] = None,
) -> models.PublishRequest:
    return models.PublishRequest(
        channel=channel,
        **payload(data),
        **_set(skip_history=skip_history, tags=tags, idempotency_key=idempotency_key, delta=delta),
    )


def broadcast(
    channels: Sequence[str],
    data: Any,
    skip_history: Optional[bool],
    tags: Optional[Mapping[str, str]],
    idempotency_key: Optional[str],
    delta: Optional[bool] = None,
) -> models.BroadcastRequest:
    return models.BroadcastRequest(
        channels=list(channels),
        **payload(data),
        **_set(skip_history=skip_history, tags=tags, idempotency_key=idempotency_key, delta=delta),
    )


def subscribe(
    user: str,
    channel: str,
    client: Optional[str],
    data: Any = None,
    info: Any = None,
    recover_since: Optional[models.StreamPosition] = None,
    override: Optional[models.ChannelOptionsOverride] = None,
) -> models.SubscribeRequest:
    return models.SubscribeRequest(
        user=user,
        channel=channel,
        **_set(client=client, data=data, info=info, recover_since=recover_since, override=override),
    )


def unsubscribe(user: str, channel: str, client: Optional[str]) -> models.UnsubscribeRequest:
    return models.UnsubscribeRequest(user=user, channel=channel, **_set(client=client))


def disconnect(
    user: str,
    client: Optional[str],
    disconnect: Optional[models.Disconnect],
    whitelist: Optional[Sequence[str]] = None,
) -> models.DisconnectRequest:
    keep = None if whitelist is None else list(whitelist)
    return models.DisconnectRequest(user=user, **_set(client=client, disconnect=disconnect, whitelist=keep))


def refresh(
    user: str,
    client: Optional[str],
    expired: Optional[bool],
    expire_at: Optional[Timestamp],
    info: Any,
) -> models.RefreshRequest:
    return models.RefreshRequest(
        user=user, **_set(client=client, expired=expired, expire_at=unix(expire_at), info=info)
    )


def presence(channel: str) -> models.PresenceRequest:
    return models.PresenceRequest(channel=channel)


def presence_stats(channel: str) -> models.PresenceStatsRequest:
    return models.PresenceStatsRequest(channel=channel)


def history(
    channel: str,
    limit: Optional[int],
    since: Optional[models.StreamPosition],
    reverse: Optional[bool],
) -> models.HistoryRequest:
    return models.HistoryRequest(channel=channel, **_set(limit=limit, since=since, reverse=reverse))


def history_remove(channel: str) -> models.HistoryRemoveRequest:
    return models.HistoryRemoveRequest(channel=channel)


def channels(pattern: Optional[str]) -> models.ChannelsRequest:
    return models.ChannelsRequest(**_set(pattern=pattern))


def info() -> models.InfoRequest:
    return models.InfoRequest()


def batch(commands: Sequence[models.Command], parallel: Optional[bool]) -> models.BatchRequest:
    return models.BatchRequest(commands=list(commands), **_set(parallel=parallel))


def encode(request: pydantic.BaseModel) -> bytes:
    """The request's JSON: only the fields that were set."""
    return request.model_dump_json(exclude_unset=True).encode()


def decode(method: str, status: int, body: bytes, answer: type[E]) -> E:
    """The HTTP 200 answer as the spec's response model; an HTTP error raises APIError."""
    if status != 200:
        raise http_error(method, status, body)
    try:
        return answer.model_validate_json(body)
    except pydantic.ValidationError as exc:
        raise ResponseError(
            f"unexpected answer: {exc.errors()[0].get('msg', exc)}", method=method, http_status=status
        ) from exc


def http_error(method: str, status: int, body: bytes) -> APIError:
    try:
        err = models.ErrorResponse.model_validate_json(body).error
        return APIError(err.code, err.message, method=method, http_status=status)
    except pydantic.ValidationError:
        text = body.decode("utf-8", "replace").strip()
        if len(text) > 200:
            text = text[:200] + "..."
        return APIError(status, text or f"HTTP {status}", method=method, http_status=status)


def result(method: str, envelope: Envelope[T_co]) -> T_co:
    """The result of an answer, or its method error raised as APIError."""
    if envelope.error is not None:
        raise APIError(envelope.error.code, envelope.error.message, method=method)
    if envelope.result is None:
        raise ResponseError("answer has neither result nor error", method=method, http_status=200)
    return envelope.result


def reply_error(method: str, error: Optional[models.Error]) -> Optional[APIError]:
    """The error of one broadcast response or batch reply as an APIError (None if none)."""
    if error is None:
        return None
    return APIError(error.code, error.message, method=method)
