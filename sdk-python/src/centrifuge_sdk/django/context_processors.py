"""Template context processor: add
``"centrifuge_sdk.django.context_processors.centrifuge"`` to
``TEMPLATES[...]["OPTIONS"]["context_processors"]`` and use
``{{ centrifuge.endpoint }}`` and ``{{ centrifuge.token }}`` (the token of
``request.user``, made only when a template uses it)."""

from __future__ import annotations

from django.http import HttpRequest

from . import BrowserConfig


def centrifuge(request: HttpRequest) -> dict[str, BrowserConfig]:
    return {"centrifuge": BrowserConfig(getattr(request, "user", None))}
