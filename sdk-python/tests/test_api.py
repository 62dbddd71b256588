"""Every server API method through Client and AsyncClient, against the real
server on the memory and the redis engine, with each method's effect checked."""

from __future__ import annotations

import base64
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest

import centrifuge_sdk as cs
from centrifuge_sdk import models

from conftest import WS, Server, connected, token, uniq


def test_publish_and_history(api: Any) -> None:
    ch = uniq("news")
    first = None
    for i in range(1, 4):
        res = api.publish(ch, {"n": i}, tags={"i": "x"})
        assert isinstance(res, models.PublishResult)
        assert res.offset == i and res.epoch
        first = first or res
    assert first is not None
    r1 = api.publish(ch, 4, idempotency_key="k1")
    r2 = api.publish(ch, 5, idempotency_key="k1")
    assert r1 == r2
    api.publish(ch, 6, skip_history=True)

    pos = api.history(ch)
    assert (pos.offset, pos.epoch, pos.publications) == (4, first.epoch, [])
    everything = api.history(ch, limit=-1)
    assert [p.data for p in everything.publications] == [{"n": 1}, {"n": 2}, {"n": 3}, 4]
    assert everything.publications[0].tags == {"i": "x"}
    page = api.history(ch, limit=2, since=models.StreamPosition(offset=1, epoch=first.epoch))
    assert [p.offset for p in page.publications] == [2, 3]
    newest = api.history(ch, limit=1, reverse=True)
    assert [p.offset for p in newest.publications] == [4]

    assert api.history_remove(ch) is None
    after = api.history(ch, limit=-1)
    assert after.publications == [] and after.offset == 4


def test_publish_reaches_subscriber(api: Any, server: Server, ws_factory: Callable[..., WS]) -> None:
    ch = uniq("live")
    w = connected(ws_factory, server, token(uniq("u"), channels=[ch]))
    api.publish(ch, {"text": "hi", "when": [1, 2.5, None]})
    assert w.push("pub", ch)["data"] == {"text": "hi", "when": [1, 2.5, None]}


def test_broadcast(api: Any) -> None:
    a, b = uniq("a"), uniq("b")
    res = api.broadcast([a, "nope:x", b], "hello")
    assert isinstance(res, models.BroadcastResult) and len(res.responses) == 3
    assert res.responses[0].result.offset == 1 and res.responses[2].result.offset == 1
    err = cs.reply_error("broadcast", res.responses[1].error)
    assert err is not None and err.code == cs.ErrorCode.UNKNOWN_CHANNEL
    assert cs.reply_error("broadcast", res.responses[0].error) is None
    assert [p.data for p in api.history(b, limit=-1).publications] == ["hello"]


def test_subscribe_presence_channels_unsubscribe(
    api: Any, server: Server, ws_factory: Callable[..., WS]
) -> None:
    ch, user = uniq("room"), uniq("u")
    w = connected(ws_factory, server, token(user, info={"name": "Alice"}))
    assert api.subscribe(user, ch) is None
    w.push("subscribe", ch)

    p = api.presence(ch)
    assert isinstance(p, models.PresenceResult)
    info = p.presence[w.client]
    assert (info.user, info.client, info.conn_info) == (user, w.client, {"name": "Alice"})
    stats = api.presence_stats(ch)
    assert (stats.num_clients, stats.num_users) == (1, 1)
    assert api.channels(pattern=ch[:-2] + "*").channels[ch].num_clients == 1
    assert api.channels(pattern="no-such-*").channels == {}
    assert api.channels().channels[ch].num_clients == 1

    assert api.unsubscribe(user, ch) is None
    assert w.push("unsubscribe", ch)["code"] == 2000
    assert api.presence_stats(ch).num_clients == 0


def test_subscribe_unsubscribe_one_client(
    api: Any, server: Server, ws_factory: Callable[..., WS]
) -> None:
    ch, user = uniq("one"), uniq("u")
    connected(ws_factory, server, token(user))
    b = connected(ws_factory, server, token(user))
    api.subscribe(user, ch, client=b.client)
    b.push("subscribe", ch)
    assert list(api.presence(ch).presence) == [b.client]
    api.unsubscribe(user, ch, client=b.client)
    b.push("unsubscribe", ch)


def test_disconnect(api: Any, server: Server, ws_factory: Callable[..., WS]) -> None:
    user = uniq("u")
    a = connected(ws_factory, server, token(user))
    b = connected(ws_factory, server, token(user))
    other = connected(ws_factory, server, token(uniq("u")))
    api.disconnect(user, client=a.client, disconnect=models.Disconnect(code=4500, reason="banned"))
    assert a.wait_close() == 4500 and a.close_reason == "banned"
    assert api.disconnect(user) is None
    assert b.wait_close() == 3503
    frame, code = other.call("presence_stats", {"channel": "x"})
    assert code is None, "another user was disconnected"


def test_centrifugo_options(api: Any, server: Server, ws_factory: Callable[..., WS]) -> None:
    """bytes as b64data, subscribe's data/info/recover_since/override, disconnect's whitelist."""
    ch, user = uniq("bin"), uniq("u")
    w = connected(ws_factory, server, token(user))
    raw = bytes([0, 0xFF, 0x80, 0x0A])
    first = api.publish(ch, raw, delta=True)
    pubs = api.history(ch, limit=-1).publications
    assert len(pubs) == 1 and pubs[0].data is None and base64.b64decode(pubs[0].b64data or "") == raw
    api.broadcast([ch], b'{"j":1}')
    api.subscribe(
        user,
        ch,
        data={"w": 1},
        info="reader",
        recover_since=models.StreamPosition(offset=first.offset, epoch=first.epoch),
        override=models.ChannelOptionsOverride(force_positioning=models.BoolValue(value=True)),
    )
    push = w.push("subscribe", ch)
    assert push["data"] == {"w": 1} and push["positioned"]
    assert w.push("pub", ch)["data"] == {"j": 1}
    assert api.presence(ch).presence[w.client].chan_info == "reader"

    other = connected(ws_factory, server, token(user))
    api.disconnect(user, whitelist=[w.client])
    assert other.wait_close() == 3503
    frame, code = w.call("presence_stats", {"channel": ch})
    assert code is None, "the whitelisted connection was closed"
    metrics = api.info().nodes[0].metrics
    assert metrics is not None and metrics.interval > 0 and metrics.items


def test_refresh(api: Any, server: Server, ws_factory: Callable[..., WS]) -> None:
    user, ch = uniq("u"), uniq("r")
    w = connected(ws_factory, server, token(user, info={"v": 1}, channels=[ch]))
    assert ch in w.subs
    in_two_hours = datetime.now(timezone.utc) + timedelta(hours=2)
    assert api.refresh(user, expire_at=in_two_hours, info={"v": 2}) is None
    push = w.push("refresh")
    assert push["expires"] and push["ttl"] > 7000
    ch2 = uniq("r")
    api.subscribe(user, ch2)
    w.push("subscribe", ch2)
    assert api.presence(ch2).presence[w.client].conn_info == {"v": 2}

    api.refresh(user, expire_at=int(time.time()) + 3600)
    assert 3500 < w.push("refresh")["ttl"] <= 3600

    api.refresh(user, client=w.client, expired=True)
    assert w.wait_close() == 3005


def test_info(api: Any, server: Server, ws_factory: Callable[..., WS]) -> None:
    connected(ws_factory, server, token(uniq("u")))
    res = api.info()
    assert isinstance(res, models.InfoResult) and len(res.nodes) == 1
    node = res.nodes[0]
    assert node.uid and node.version and node.num_clients >= 1 and node.uptime >= 0


@pytest.mark.parametrize("parallel", [False, True])
def test_batch(api: Any, server: Server, ws_factory: Callable[..., WS], parallel: bool) -> None:
    ch, user = uniq("batch"), uniq("u")
    w = connected(ws_factory, server, token(user))
    batch = (
        cs.Batch()
        .publish(ch, {"ok": True})
        .broadcast([ch, ch + "x"], 1)
        .subscribe(user, ch + "s")
        .presence("bare:x")
        .presence_stats(ch)
        .history(ch, limit=-1)
        .channels(pattern=ch + "*")
        .info()
        .unsubscribe(user, ch + "s")
        .refresh(user, expire_at=int(time.time()) + 3600)
        .history_remove(ch + "x")
        .disconnect(user, disconnect=models.Disconnect(code=4000, reason="batch"))
    )
    replies = api.batch(batch, parallel=parallel)
    assert len(replies) == len(batch) == 12
    for i, r in enumerate(replies):
        if i == 3:
            assert r.error is not None and r.error.code == cs.ErrorCode.NOT_AVAILABLE
        else:
            assert r.error is None, (i, r)
    assert replies[0].publish.epoch
    assert len(replies[1].broadcast.responses) == 2
    assert replies[2].subscribe is not None and replies[8].unsubscribe is not None
    assert replies[4].presence_stats is not None
    # In parallel, history may run before the publishes.
    assert len(replies[5].history.publications) >= (0 if parallel else 2)
    assert replies[6].channels is not None
    assert len(replies[7].info.nodes) == 1
    assert replies[9].refresh is not None and replies[10].history_remove is not None
    assert replies[11].disconnect is not None
    assert w.wait_close() == 4000

    # A plain list of commands works too.
    replies = api.batch([models.Command(presence_stats=models.PresenceStatsRequest(channel=ch))])
    assert replies[0].presence_stats is not None


def test_named_project(server: Server) -> None:
    ch = uniq("o")
    with server.client("other") as other, server.client() as default:
        other.publish(ch, 1)
        assert len(other.history(ch, limit=-1).publications) == 1
        assert default.history(ch, limit=-1).publications == []


@pytest.mark.parametrize(
    "call, code",
    [
        (lambda api: api.publish("nope:x", 1), cs.ErrorCode.UNKNOWN_CHANNEL),
        (lambda api: api.presence("bare:x"), cs.ErrorCode.NOT_AVAILABLE),
        (lambda api: api.history("bare:x", limit=1), cs.ErrorCode.NOT_AVAILABLE),
        (lambda api: api.disconnect("42", disconnect=models.Disconnect.model_construct(code=1000)),
         cs.ErrorCode.BAD_REQUEST),
        (lambda api: api.history_remove(""), cs.ErrorCode.BAD_REQUEST),
    ],
    ids=["unknown namespace", "presence not enabled", "history not kept", "bad close code", "empty channel"],
)
def test_method_errors(api: Any, call: Callable[[Any], Any], code: int) -> None:
    with pytest.raises(cs.APIError) as exc:
        call(api)
    e = exc.value
    assert (e.code, e.http_status) == (code, 200) and e.message and e.method
    assert f"error {code}" in str(e)
