"""System checks: ``manage.py check`` (and ``runserver``, ``migrate``, the test
runner) report missing or wrong ``CENTRIFUGE_*`` settings before a page needs
them. Registered by the app config of ``centrifuge_sdk.django``."""

from __future__ import annotations

from typing import Any, Optional
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks

ALGORITHMS = ("HS256", "RS256", "ES256")

_MISSING = object()


def _get(name: str) -> Any:
    return getattr(settings, name, _MISSING)


def _error(msg: str, hint: str, id: str) -> checks.CheckMessage:
    return checks.Error(msg, hint=hint, obj="settings", id=f"centrifuge.{id}")


def _http_url(value: Any) -> Optional[str]:
    """Why ``value`` is not an http(s) URL with a host, or None."""
    if not isinstance(value, str) or not value:
        return "is not a non-empty string"
    parts = urlsplit(value if "://" in value else "http://" + value)
    if parts.scheme not in ("http", "https"):
        return f"has scheme {parts.scheme!r}, not http or https"
    if not parts.hostname:
        return "has no host"
    return None


@checks.register("centrifuge")
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []

    address = _get("CENTRIFUGE_ADDRESS")
    if address is _MISSING or not address:
        errors.append(_error(
            "settings.CENTRIFUGE_ADDRESS is not set.",
            'The server API as Django reaches it, e.g. "http://localhost:8000".', "E001"))
    else:
        why = _http_url(address)
        if why:
            errors.append(_error(
                f"settings.CENTRIFUGE_ADDRESS {address!r} {why}.",
                'Use the server\'s base URL, e.g. "http://localhost:8000".', "E002"))

    if not _get("CENTRIFUGE_API_KEY") or _get("CENTRIFUGE_API_KEY") is _MISSING:
        errors.append(_error(
            "settings.CENTRIFUGE_API_KEY is not set.",
            "The project's api_key from the server's config file.", "E003"))

    algorithm = _get("CENTRIFUGE_TOKEN_ALGORITHM")
    if algorithm is _MISSING:
        algorithm = "HS256"
    if algorithm not in ALGORITHMS:
        errors.append(_error(
            f"settings.CENTRIFUGE_TOKEN_ALGORITHM {algorithm!r} is not supported.",
            f"One of {', '.join(ALGORITHMS)}.", "E004"))
    elif algorithm == "HS256":
        secret = _get("CENTRIFUGE_SECRET")
        if secret is _MISSING or not secret:
            errors.append(_error(
                "settings.CENTRIFUGE_SECRET is not set (HS256 tokens are signed with it).",
                "The project's secret from the server's config file.", "E005"))
        elif not isinstance(secret, (str, bytes)):
            errors.append(_error(
                "settings.CENTRIFUGE_SECRET is not a string.",
                "The project's secret from the server's config file.", "E005"))
    else:
        key = _get("CENTRIFUGE_TOKEN_PRIVATE_KEY")
        if key is _MISSING or not key:
            errors.append(_error(
                f"settings.CENTRIFUGE_TOKEN_PRIVATE_KEY is not set ({algorithm} tokens are signed with it).",
                "A PEM private key whose public key the server's project has.", "E006"))

    ttl = _get("CENTRIFUGE_TOKEN_TTL")
    if ttl is not _MISSING and ttl is not None and (
        isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or ttl <= 0
    ):
        errors.append(_error(
            f"settings.CENTRIFUGE_TOKEN_TTL {ttl!r} is not a positive number of seconds.",
            "Seconds a token is valid (default 3600), or None for tokens that never expire.", "E007"))

    timeout = _get("CENTRIFUGE_TIMEOUT")
    if timeout is not _MISSING and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0
    ):
        errors.append(_error(
            f"settings.CENTRIFUGE_TIMEOUT {timeout!r} is not a positive number of seconds.",
            "Seconds each API call may take (default 10).", "E008"))

    ws = _get("CENTRIFUGE_WEBSOCKET_URL")
    if ws is not _MISSING and ws is not None:
        scheme = urlsplit(ws).scheme if isinstance(ws, str) else ""
        if scheme not in ("ws", "wss") or not urlsplit(ws).hostname:
            errors.append(_error(
                f"settings.CENTRIFUGE_WEBSOCKET_URL {ws!r} is not a ws:// or wss:// URL.",
                'What browsers connect to, e.g. "wss://rt.example.com/connection/websocket".', "E009"))

    anonymous = _get("CENTRIFUGE_ANONYMOUS")
    if anonymous is not _MISSING and not isinstance(anonymous, bool):
        errors.append(_error(
            f"settings.CENTRIFUGE_ANONYMOUS {anonymous!r} is not True or False.",
            "True: anonymous visitors get a token with an empty user; False: no token.", "E010"))

    project = _get("CENTRIFUGE_PROJECT")
    if project is not _MISSING and project is not None and (not isinstance(project, str) or not project):
        errors.append(_error(
            f"settings.CENTRIFUGE_PROJECT {project!r} is not a project name.",
            "A project's name, or None for the project named default.", "E011"))

    errors.extend(_check_templates())
    return errors


def _check_templates() -> list[checks.CheckMessage]:
    """The context processor needs ``request`` (or ``user``) in the context."""
    out: list[checks.CheckMessage] = []
    for engine in getattr(settings, "TEMPLATES", []):
        procs = engine.get("OPTIONS", {}).get("context_processors", [])
        if "centrifuge_sdk.django.context_processors.centrifuge" in procs and not (
            "django.template.context_processors.request" in procs
            or "django.contrib.auth.context_processors.auth" in procs
        ):
            out.append(checks.Warning(
                "The centrifuge context processor cannot see the user: every token will be anonymous.",
                hint='Add "django.template.context_processors.request" to the context_processors.',
                obj="settings.TEMPLATES", id="centrifuge.W001"))
    return out
