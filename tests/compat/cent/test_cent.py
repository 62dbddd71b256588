"""cent 5.2.0, unchanged, against the server: every method of its Client and
AsyncClient (the same tests run through both), b64data byte for byte, and each
error as cent's own exception."""

from __future__ import annotations

import asyncio
import base64
from typing import Any, Callable, Iterator

import pytest
import requests
from cent import AsyncClient, Client
from cent.dto import (
    BatchRequest,
    BlockUserRequest,
    BoolValue,
    BroadcastRequest,
    CancelPushRequest,
    ChannelOptionsOverride,
    ChannelsRequest,
    ConnectionsRequest,
    DeleteUserStatusRequest,
    DeviceListRequest,
    DeviceRegisterRequest,
    DeviceRemoveRequest,
    DeviceTopicListRequest,
    DeviceTopicUpdateRequest,
    DeviceUpdateRequest,
    Disconnect,
    DisconnectRequest,
    GetUserStatusRequest,
    HistoryRemoveRequest,
    HistoryRequest,
    InfoRequest,
    InvalidateUserTokensRequest,
    PresenceRequest,
    PresenceStatsRequest,
    PublishRequest,
    PushNotification,
    PushRecipient,
    RefreshRequest,
    RevokeTokenRequest,
    SendPushNotificationRequest,
    StreamPosition,
    SubscribeRequest,
    UnblockUserRequest,
    UnsubscribeRequest,
    UpdatePushStatusRequest,
    UpdateUserStatusRequest,
    UserTopicListRequest,
    UserTopicUpdateRequest,
)
from cent.exceptions import CentApiResponseError, CentTransportError, CentUnauthorizedError

from conftest import API_KEY, WS, Server, uniq

BINARY = bytes([0x00, 0xFF, 0x80, 0x01, 0x0A, 0x22, 0xFE])


class SyncOfAsync:
    """AsyncClient's methods, run to completion: the same tests drive both clients."""

    def __init__(self, client: AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        self._client, self._loop = client, loop

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._client, name)
        return lambda *a, **kw: self._loop.run_until_complete(method(*a, **kw))


@pytest.fixture(params=["sync", "async"])
def cent(request: pytest.FixtureRequest, server: Server) -> Iterator[Any]:
    yield from _client(request.param, server.api_url, API_KEY)


def _client(kind: str, url: str, key: str) -> Iterator[Any]:
    if kind == "sync":
        yield Client(url, key)
        return
    loop = asyncio.new_event_loop()

    async def make() -> AsyncClient:
        return AsyncClient(url, key)  # aiohttp wants its loop running

    client = loop.run_until_complete(make())
    yield SyncOfAsync(client, loop)
    loop.run_until_complete(client.close())
    loop.close()


def test_publish_history(cent: Any) -> None:
    ch = uniq("hist:pub")
    first = cent.publish(PublishRequest(channel=ch, data={"text": "hello"}, tags={"kind": "chat"}, idempotency_key="k1"))
    assert first.offset == 1 and first.epoch
    again = cent.publish(PublishRequest(channel=ch, data={"text": "hello"}, idempotency_key="k1"))
    assert (again.offset, again.epoch) == (first.offset, first.epoch)
    cent.publish(PublishRequest(channel=ch, data={"text": "skipped"}, skip_history=True))
    assert cent.publish(PublishRequest(channel=ch, data={"text": "there"})).offset == 2

    h = cent.history(HistoryRequest(channel=ch, limit=-1))
    assert [p.data for p in h.publications] == [{"text": "hello"}, {"text": "there"}]
    assert h.publications[0].tags == {"kind": "chat"}
    assert (h.offset, h.epoch) == (2, first.epoch)
    rev = cent.history(HistoryRequest(channel=ch, limit=1, reverse=True))
    assert [p.offset for p in rev.publications] == [2]
    since = cent.history(HistoryRequest(channel=ch, limit=10, since=StreamPosition(offset=1, epoch=first.epoch)))
    assert [p.offset for p in since.publications] == [2]
    with pytest.raises(CentApiResponseError) as e:
        cent.history(HistoryRequest(channel=ch, limit=10, since=StreamPosition(offset=1, epoch="another-epoch")))
    assert e.value.code == 112 and "another-epoch" in e.value.message

    cent.history_remove(HistoryRemoveRequest(channel=ch))
    h = cent.history(HistoryRequest(channel=ch, limit=-1))
    assert h.publications == [] and h.offset == 2


def test_binary_payload(cent: Any, ws: Callable[[str], WS]) -> None:
    ch = uniq("hist:bin")
    sub = ws("u-bin")
    sub.call("subscribe", {"channel": ch})
    b64 = base64.b64encode(BINARY).decode()
    res = cent.publish(PublishRequest(channel=ch, data=None, b64data=b64))
    pub = sub.push("pub", ch)
    assert base64.b64decode(pub["b64data"]) == BINARY and pub["offset"] == res.offset

    h = cent.history(HistoryRequest(channel=ch, limit=-1))
    assert len(h.publications) == 1
    p = h.publications[0]
    assert p.data is None and base64.b64decode(p.model_extra["b64data"]) == BINARY

    other = uniq("hist:bin")
    b = cent.broadcast(BroadcastRequest(channels=[ch, other], data=None, b64data=b64))
    assert [r.error for r in b.responses] == [None, None]
    assert base64.b64decode(sub.push("pub", ch)["b64data"]) == BINARY


def test_broadcast(cent: Any) -> None:
    a, b = uniq("hist:a"), uniq("hist:b")
    res = cent.broadcast(BroadcastRequest(channels=[a, b, "nosuchns:x"], data={"n": 1}, tags={"t": "v"}))
    assert res.responses[0].result.offset == 1 and res.responses[1].result.offset == 1
    assert res.responses[2].error.code == 102


def test_server_side_subscribe(cent: Any, ws: Callable[[str], WS]) -> None:
    user, ch = uniq("u"), uniq("hist:srv")
    w = ws(user)
    cent.publish(PublishRequest(channel=ch, data={"n": 1}))
    top = cent.history(HistoryRequest(channel=ch))
    cent.publish(PublishRequest(channel=ch, data={"n": 2}))
    cent.subscribe(SubscribeRequest(
        user=user, channel=ch, client=w.client, info={"role": "reader"}, data={"welcome": True},
        recover_since=StreamPosition(offset=top.offset, epoch=top.epoch),
        override=ChannelOptionsOverride(presence=BoolValue(value=True), force_positioning=BoolValue(value=True),
                                        force_recovery=BoolValue(value=True)),
    ))
    push = w.push("subscribe", ch)
    assert push["data"] == {"welcome": True} and push["recoverable"] and push["positioned"] and push["offset"] == 2
    assert w.push("pub", ch)["data"] == {"n": 2}, w.kept  # recovered since top

    pr = cent.presence(PresenceRequest(channel=ch))
    assert pr.presence[w.client].user == user and pr.presence[w.client].chan_info == {"role": "reader"}
    st = cent.presence_stats(PresenceStatsRequest(channel=ch))
    assert (st.num_clients, st.num_users) == (1, 1)
    chans = cent.channels(ChannelsRequest(pattern="hist:srv_*"))
    assert chans.channels[ch].num_clients == 1

    # b64data / b64info: base64 of JSON.
    ch2 = uniq("hist:srv")
    cent.subscribe(SubscribeRequest(user=user, channel=ch2, b64data=base64.b64encode(b'{"x":1}').decode(),
                                    b64info=base64.b64encode(b'{"y":2}').decode()))
    assert w.push("subscribe", ch2)["data"] == {"x": 1}
    assert cent.presence(PresenceRequest(channel=ch2)).presence[w.client].chan_info == {"y": 2}

    cent.unsubscribe(UnsubscribeRequest(user=user, channel=ch, client=w.client))
    assert w.push("unsubscribe", ch)["code"] == 2000


def test_disconnect_and_refresh(cent: Any, ws: Callable[[str], WS]) -> None:
    user = uniq("u")
    keep, drop = ws(user), ws(user)
    cent.disconnect(DisconnectRequest(user=user, whitelist=[keep.client], disconnect=Disconnect(code=4100, reason="moved")))
    assert drop.wait_close() == 4100
    keep.expect_open(0.5)

    cent.refresh(RefreshRequest(user=user, client=keep.client, expire_at=2**40))
    cent.refresh(RefreshRequest(user=user, client=keep.client, expired=True))
    assert keep.wait_close() == 3005

    other = ws(user)
    cent.disconnect(DisconnectRequest(user=user, client=other.client))
    assert other.wait_close() == 3503


def test_info(cent: Any) -> None:
    info = cent.info(InfoRequest())
    assert len(info.nodes) == 1
    node = info.nodes[0]
    assert node.uid and node.metrics is not None and node.metrics.interval > 0 and node.metrics.items


def test_batch(cent: Any) -> None:
    ch = uniq("hist:batch")
    res = cent.batch(BatchRequest(requests=[
        PublishRequest(channel=ch, data={"n": 1}),
        PublishRequest(channel=ch, data={"n": 2}),
        HistoryRequest(channel=ch, limit=-1),
        PresenceStatsRequest(channel=ch),
        InfoRequest(),
    ], parallel=False))
    assert [r.offset for r in res.replies[:2]] == [1, 2]
    assert [p.data for p in res.replies[2].publications] == [{"n": 1}, {"n": 2}]
    assert res.replies[3].num_clients == 0
    par = cent.batch(BatchRequest(requests=[PublishRequest(channel=uniq("hist:p"), data={}) for _ in range(5)], parallel=True))
    assert [r.offset for r in par.replies] == [1] * 5


PRO = [
    (lambda: ConnectionsRequest(user="u", expression=""), "connections"),
    (lambda: UpdateUserStatusRequest(users=["u"]), "update_user_status"),
    (lambda: GetUserStatusRequest(users=["u"]), "get_user_status"),
    (lambda: DeleteUserStatusRequest(users=["u"]), "delete_user_status"),
    (lambda: BlockUserRequest(user="u"), "block_user"),
    (lambda: UnblockUserRequest(user="u"), "unblock_user"),
    (lambda: RevokeTokenRequest(uid="t"), "revoke_token"),
    (lambda: InvalidateUserTokensRequest(user="u"), "invalidate_user_tokens"),
    (lambda: DeviceRegisterRequest(provider="fcm", token="t", platform="android"), "device_register"),
    (lambda: DeviceUpdateRequest(ids=["d"]), "device_update"),
    (lambda: DeviceRemoveRequest(ids=["d"]), "device_remove"),
    (lambda: DeviceListRequest(), "device_list"),
    (lambda: DeviceTopicListRequest(), "device_topic_list"),
    (lambda: DeviceTopicUpdateRequest(device_id="d", op="add", topics=["t"]), "device_topic_update"),
    (lambda: UserTopicListRequest(), "user_topic_list"),
    (lambda: UserTopicUpdateRequest(user="u", op="add", topics=["t"]), "user_topic_update"),
    (lambda: SendPushNotificationRequest(recipient=PushRecipient(fcm_tokens=["t"]), notification=PushNotification()),
     "send_push_notification"),
    (lambda: UpdatePushStatusRequest(analytics_uid="a", status="delivered"), "update_push_status"),
    (lambda: CancelPushRequest(uid="p"), "cancel_push"),
]


@pytest.mark.parametrize("make,method", PRO, ids=[m for _, m in PRO])
def test_pro_methods_are_not_found(cent: Any, make: Callable[[], Any], method: str) -> None:
    """Centrifugo PRO methods: 104, as Centrifugo OSS answers them."""
    with pytest.raises(CentApiResponseError) as e:
        getattr(cent, method)(make())
    assert e.value.code == 104 and method in e.value.message


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_wrong_key(server: Server, kind: str) -> None:
    for client in _client(kind, server.api_url, "wrong-key"):
        with pytest.raises(CentUnauthorizedError):
            client.publish(PublishRequest(channel="a", data={}))


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_unknown_project(server: Server, kind: str) -> None:
    for client in _client(kind, server.api_url + "/nosuchproject", API_KEY):
        with pytest.raises(CentTransportError) as e:
            client.publish(PublishRequest(channel="a", data={}))
        assert e.value.status_code == 404


def test_errors(cent: Any) -> None:
    with pytest.raises(CentApiResponseError) as e:
        cent.publish(PublishRequest(channel="nosuchns:a", data={}))
    assert e.value.code == 102
    # A field this server does not know (cent passes extra fields through).
    with pytest.raises(CentApiResponseError) as e:
        cent.publish(PublishRequest(channel=uniq("hist:x"), data={}, colour="red"))
    assert e.value.code == 107 and '"colour"' in e.value.message
    # One it knows and does not support.
    with pytest.raises(CentApiResponseError) as e:
        cent.subscribe(SubscribeRequest(user="u", channel=uniq("hist:x"), session="s1"))
    assert e.value.code == 107 and "session" in e.value.message
    # Contradictory fields.
    with pytest.raises(CentApiResponseError) as e:
        cent.publish(PublishRequest(channel=uniq("hist:x"), data={"a": 1}, b64data="AAE="))
    assert e.value.code == 107 and "b64data" in e.value.message
    with pytest.raises(CentApiResponseError) as e:
        cent.refresh(RefreshRequest(user="u", expired=True, expire_at=2**40))
    assert e.value.code == 107 and "expire_at" in e.value.message
    with pytest.raises(CentApiResponseError) as e:
        cent.subscribe(SubscribeRequest(user="u", channel=uniq("hist:x"), info={"a": 1}, b64info="e30="))
    assert e.value.code == 107 and "b64info" in e.value.message
    with pytest.raises(CentApiResponseError) as e:
        cent.history(HistoryRequest(channel="nohistory"))
    assert e.value.code == 108


def test_single_api_endpoint(server: Server) -> None:
    """The older line-per-command form, as gocent and older libraries send it."""
    body = '{"method":"publish","params":{"channel":"hist:line","data":{"n":1}}}\n{"method":"nope","params":{}}\n'
    r = requests.post(server.api_url, data=body, headers={"Authorization": f"apikey {API_KEY}"}, timeout=5)
    assert r.status_code == 200
    lines = r.text.strip().split("\n")
    assert len(lines) == 2 and '"result"' in lines[0] and '"code":104' in lines[1]
