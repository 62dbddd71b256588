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


# --- system checks ----------------------------------------------------------

def check_ids(**overrides: Any) -> list[str]:
    from django.core import checks

    with override_settings(**overrides):
        return [m.id for m in checks.run_checks(tags=["centrifuge"]) if m.id]


GOOD = {"CENTRIFUGE_ADDRESS": "http://localhost:8000", "CENTRIFUGE_API_KEY": "k", "CENTRIFUGE_SECRET": "s" * 32}


def test_checks_pass_with_good_settings() -> None:
    assert check_ids(**GOOD) == []
    assert check_ids(**GOOD, CENTRIFUGE_TOKEN_TTL=None, CENTRIFUGE_TIMEOUT=2,
                     CENTRIFUGE_WEBSOCKET_URL="wss://rt.example.com/connection/websocket",
                     CENTRIFUGE_ANONYMOUS=False, CENTRIFUGE_PROJECT="blog") == []


@pytest.mark.parametrize("overrides, expected", [
    ({"CENTRIFUGE_ADDRESS": None}, "centrifuge.E001"),
    ({"CENTRIFUGE_ADDRESS": "ftp://x"}, "centrifuge.E002"),
    ({"CENTRIFUGE_ADDRESS": "http://"}, "centrifuge.E002"),
    ({"CENTRIFUGE_API_KEY": ""}, "centrifuge.E003"),
    ({"CENTRIFUGE_TOKEN_ALGORITHM": "none"}, "centrifuge.E004"),
    ({"CENTRIFUGE_SECRET": None}, "centrifuge.E005"),
    ({"CENTRIFUGE_TOKEN_ALGORITHM": "RS256"}, "centrifuge.E006"),
    ({"CENTRIFUGE_TOKEN_TTL": "1h"}, "centrifuge.E007"),
    ({"CENTRIFUGE_TOKEN_TTL": -5}, "centrifuge.E007"),
    ({"CENTRIFUGE_TIMEOUT": 0}, "centrifuge.E008"),
    ({"CENTRIFUGE_WEBSOCKET_URL": "http://x/connection/websocket"}, "centrifuge.E009"),
    ({"CENTRIFUGE_ANONYMOUS": "no"}, "centrifuge.E010"),
    ({"CENTRIFUGE_PROJECT": ""}, "centrifuge.E011"),
])
def test_checks_report_wrong_settings(overrides: dict[str, Any], expected: str) -> None:
    assert check_ids(**{**GOOD, **overrides}) == [expected]


def test_check_warns_when_the_context_processor_cannot_see_the_user() -> None:
    templates = [{"BACKEND": "django.template.backends.django.DjangoTemplates",
                  "OPTIONS": {"context_processors": ["centrifuge_sdk.django.context_processors.centrifuge"]}}]
    assert check_ids(**GOOD, TEMPLATES=templates) == ["centrifuge.W001"]


def test_manage_py_check_reports_missing_settings(tmp_path: Any) -> None:
    """What a user sees: `manage.py check` fails and names the setting."""
    import subprocess
    import sys

    (tmp_path / "site_settings.py").write_text(
        'SECRET_KEY = "x"\nINSTALLED_APPS = ["centrifuge_sdk.django"]\n'
        'CENTRIFUGE_ADDRESS = "http://localhost:8000"\n'
    )
    r = subprocess.run(
        [sys.executable, "-m", "django", "check"], cwd=tmp_path, capture_output=True, text=True,
        env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "site_settings", "PYTHONPATH": str(tmp_path)},
    )
    assert r.returncode != 0
    assert "centrifuge.E003" in r.stderr and "CENTRIFUGE_API_KEY" in r.stderr, r.stderr
    assert "centrifuge.E005" in r.stderr and "CENTRIFUGE_SECRET" in r.stderr, r.stderr


# --- anonymous visitors -----------------------------------------------------

def test_anonymous_visitor_subscribes_where_allowed(configured: Server, ws_factory: Callable[..., WS]) -> None:
    tok = cdj.connection_token(AnonymousUser())
    w = connected(ws_factory, configured, tok)
    # allow_anonymous: true in namespace "public": subscribed.
    frame, code = w.call("subscribe", {"channel": "public:" + uniq("a")})
    assert code is None and frame is not None and "error" not in frame, frame
    # Elsewhere the server refuses (103 permission denied).
    frame, code = w.call("subscribe", {"channel": uniq("a")})
    assert frame is not None and frame["error"]["code"] == 103, frame


def test_anonymous_visitors_get_no_token_when_disabled(configured: Server) -> None:
    from django.core.exceptions import PermissionDenied

    with override_settings(CENTRIFUGE_ANONYMOUS=False):
        cfg = cdj.BrowserConfig(AnonymousUser())
        assert cfg.token == "" and cfg.as_dict() == {"endpoint": configured.ws_url(), "token": "", "user": ""}
        with pytest.raises(PermissionDenied):
            cdj.connection_token(AnonymousUser())
        with pytest.raises(PermissionDenied):
            cdj.subscription_token(None, "$x")
        assert cdj.BrowserConfig(alice()).as_dict()["user"] == "42"
        assert cdj.BrowserConfig(alice()).token


# --- async ------------------------------------------------------------------

def test_async_client_and_tokens(configured: Server, ws_factory: Callable[..., WS]) -> None:
    import asyncio

    ch = uniq("dja")
    req = request_for(alice())

    async def view() -> tuple[str, int]:
        client = cdj.get_async_client()
        assert client is cdj.get_async_client()
        result = await client.publish(ch, {"from": "async"})
        return await cdj.aconnection_token(req, info={"name": "alice"}), result.offset

    tok, offset = asyncio.run(view())
    assert offset == 1
    connected(ws_factory, configured, tok)
    # Another event loop gets its own client (an httpx.AsyncClient is bound to its loop).
    tok2, offset2 = asyncio.run(view())
    assert offset2 == 2

    async def sub() -> str:
        return await cdj.asubscription_token(req, "$" + ch)

    w = connected(ws_factory, configured, tok2)
    frame, code = w.call("subscribe", {"channel": "$" + ch, "token": asyncio.run(sub())})
    assert code is None and frame is not None and "error" not in frame, frame


# --- errors -----------------------------------------------------------------

def _middleware_response(view: Callable[..., Any], **headers: str) -> Any:
    from centrifuge_sdk.django.middleware import CentrifugeErrorMiddleware

    req = RequestFactory().post("/comment", **headers)
    mw = CentrifugeErrorMiddleware(lambda r: view(r))
    try:
        return mw(req)
    except Exception as exc:  # what Django's handler does: ask the middleware
        resp = mw.process_exception(req, exc)
        if resp is None:
            raise
        return resp


def test_error_middleware_maps_errors(configured: Server) -> None:
    with override_settings(CENTRIFUGE_ADDRESS=f"http://127.0.0.1:{_closed_port()}"):
        def down(request: Any) -> Any:
            cdj.get_client().publish("news", {})
        resp = _middleware_response(down)
        assert resp.status_code == 503 and resp["Retry-After"] == "5"
        assert "cannot be reached" in resp.content.decode()
        resp = _middleware_response(down, HTTP_ACCEPT="application/json")
        assert json.loads(resp.content)["error"]["type"] == "NetworkError"

    with override_settings(CENTRIFUGE_API_KEY="wrong"):
        def refused(request: Any) -> Any:
            cdj.get_client().publish("news", {})
        resp = _middleware_response(refused, HTTP_X_REQUESTED_WITH="XMLHttpRequest")
        assert resp.status_code == 502
        body = json.loads(resp.content)["error"]
        assert body["type"] == "APIError" and "401" in body["message"]

    def other(request: Any) -> Any:
        raise ValueError("not ours")
    with pytest.raises(ValueError):
        _middleware_response(other)


def test_error_middleware_in_a_django_request(configured: Server) -> None:
    """Through Django's own handler, a sync and an async view."""
    from django.test import Client as TestClient
    from django.urls import path

    def sync_view(request: Any) -> Any:
        cdj.get_client().publish("news", {})

    async def async_view(request: Any) -> Any:
        await cdj.get_async_client().publish("news", {})

    urlconf = type("urls", (), {"urlpatterns": [path("s", sync_view), path("a", async_view)]})
    with override_settings(
        ROOT_URLCONF=urlconf, ALLOWED_HOSTS=["testserver"],
        MIDDLEWARE=["centrifuge_sdk.django.middleware.CentrifugeErrorMiddleware"],
        CENTRIFUGE_ADDRESS=f"http://127.0.0.1:{_closed_port()}",
    ):
        for url in ("/s", "/a"):
            resp = TestClient(raise_request_exception=False).get(url)
            assert resp.status_code == 503, (url, resp.status_code)


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the README's template --------------------------------------------------

def test_readme_template_example(configured: Server, ws_factory: Callable[..., WS]) -> None:
    """The README's complete template renders, and its token and channel work."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    m = re.search(r"```html\+django\n(<!-- post.html -->.*?)```", readme, re.S)
    assert m, "README has no complete template example"
    src = m.group(1)
    assert "centrifuge.js" in src and "newSubscription" in src and ".subscribe()" in src and ".connect()" in src
    with override_settings(STATIC_URL="/static/"):
        html = Template(src).render(RequestContext(request_for(alice()), {"channel": "public:post-7"}))
    assert '<script src="/static/centrifuge.js"></script>' in html
    cfg = json.loads(re.search(r'<script id="centrifuge-config" type="application/json">(.*?)</script>', html).group(1))
    assert cfg["endpoint"] == configured.ws_url() and cfg["user"] == "42"
    channel = json.loads(re.search(r'<script id="channel" type="application/json">(.*?)</script>', html).group(1))
    assert channel == "public:post-7"
    w = connected(ws_factory, configured, cfg["token"])
    frame, code = w.call("subscribe", {"channel": channel})
    assert code is None and frame is not None and "error" not in frame, frame
