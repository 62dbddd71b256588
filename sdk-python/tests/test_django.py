"""centrifuge_sdk.django: settings, get_client, the context processor and the
template tags; the tokens they hand the browser connect to the real server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, Callable

import django
import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.template import Context, RequestContext, Template
from django.test import RequestFactory, override_settings

import centrifuge_sdk as cs

from conftest import API_KEY, SECRET, WS, Keys, Server, connected, uniq

if not settings.configured:
    settings.configure(
        SECRET_KEY="test",
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "centrifuge_sdk.django",
        ],
        DATABASES={},
        TEMPLATES=[{
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "OPTIONS": {"context_processors": [
                "django.template.context_processors.request",
                "centrifuge_sdk.django.context_processors.centrifuge",
            ]},
        }],
        USE_TZ=True,
    )
    django.setup()

from django.contrib.auth.models import AnonymousUser, User  # noqa: E402

from centrifuge_sdk import django as cdj  # noqa: E402


@pytest.fixture
def configured(server: Server) -> Iterator[Server]:
    with override_settings(
        CENTRIFUGE_ADDRESS=server.url, CENTRIFUGE_API_KEY=API_KEY, CENTRIFUGE_SECRET=SECRET
    ):
        yield server


def request_for(user: Any) -> Any:
    req = RequestFactory().get("/")
    req.user = user
    return req


def alice() -> User:
    return User(pk=42, username="alice")  # not saved: no database needed


def test_get_client_publishes(configured: Server) -> None:
    ch = uniq("dj")
    client = cdj.get_client()
    assert client is cdj.get_client()
    assert client.publish(ch, {"from": "django"}).offset == 1
    assert client.history(ch, limit=-1).publications[0].data == {"from": "django"}


def test_websocket_url() -> None:
    with override_settings(CENTRIFUGE_ADDRESS="https://rt.example.com/prefix/"):
        assert cdj.websocket_url() == "wss://rt.example.com/prefix/connection/websocket"
    with override_settings(CENTRIFUGE_ADDRESS="http://localhost:8000", CENTRIFUGE_PROJECT="shop"):
        assert cdj.websocket_url() == "ws://localhost:8000/connection/shop/websocket"
    with override_settings(CENTRIFUGE_WEBSOCKET_URL="wss://edge/connection/websocket", CENTRIFUGE_ADDRESS="x"):
        assert cdj.websocket_url() == "wss://edge/connection/websocket"


def test_context_processor_token_connects(configured: Server, ws_factory: Callable[..., WS]) -> None:
    out = Template("{{ centrifuge.endpoint }} {{ centrifuge.token }}").render(
        RequestContext(request_for(alice()))
    )
    endpoint, tok = out.split()
    assert endpoint == configured.ws_url()
    w = connected(ws_factory, configured, tok)
    with configured.client() as api:
        api.subscribe("42", "dj-room")
    w.push("subscribe", "dj-room")


def test_anonymous_token(configured: Server, ws_factory: Callable[..., WS]) -> None:
    out = Template("{{ centrifuge.token }}").render(RequestContext(request_for(AnonymousUser())))
    w = ws_factory(configured)
    frame, code = w.connect(out)
    assert code is None and frame is not None and "connect" in frame


def test_token_is_made_only_when_used(configured: Server) -> None:
    with override_settings(CENTRIFUGE_SECRET=None):
        # No secret: fine until a template asks for the token.
        assert Template("{{ centrifuge.endpoint }}").render(RequestContext(request_for(alice())))
        with pytest.raises(ImproperlyConfigured):
            cdj.connection_token(alice())


def test_template_tags(configured: Server, ws_factory: Callable[..., WS]) -> None:
    ch = "$" + uniq("dj")
    t = Template(
        "{% load centrifuge %}"
        "{% centrifuge_endpoint %}\n{% centrifuge_token %}\n"
        "{% centrifuge_subscription_token channel %}\n{% centrifuge_config 'cfg' %}"
    )
    out = t.render(Context({"request": request_for(alice()), "channel": ch}))
    endpoint, tok, sub, script = out.split("\n", 3)
    assert endpoint == configured.ws_url()
    m = re.fullmatch(r'<script id="cfg" type="application/json">(.*)</script>', script)
    assert m is not None
    assert json.loads(m.group(1))["endpoint"] == endpoint
    w = connected(ws_factory, configured, tok)
    frame, code = w.call("subscribe", {"channel": ch, "token": sub})
    assert code is None and frame is not None and "error" not in frame, frame
    # The user from the auth context processor's `user` works too.
    out = Template("{% load centrifuge %}{% centrifuge_token %}").render(Context({"user": alice()}))
    connected(ws_factory, configured, out)


def test_rs256_from_settings(server: Server, ws_factory: Callable[..., WS], keys: Keys) -> None:
    with override_settings(
        CENTRIFUGE_ADDRESS=server.url, CENTRIFUGE_PROJECT="keys",
        CENTRIFUGE_TOKEN_ALGORITHM="RS256", CENTRIFUGE_TOKEN_PRIVATE_KEY=keys.private_pem(keys.rsa),
    ):
        tok = cdj.connection_token(alice())
        assert cdj.websocket_url() == server.ws_url("keys")
    connected(ws_factory, server, tok, "keys")


def test_missing_settings() -> None:
    with override_settings(CENTRIFUGE_ADDRESS=None, CENTRIFUGE_API_KEY=None):
        with pytest.raises(ImproperlyConfigured, match="CENTRIFUGE_ADDRESS"):
            cdj.get_client()
    assert isinstance(cs.Client, type)
