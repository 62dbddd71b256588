"""``{% load centrifuge %}``: the browser's endpoint and tokens.

* ``{% centrifuge_endpoint %}``: the WebSocket URL;
* ``{% centrifuge_token %}``: a connection token for ``request.user``;
* ``{% centrifuge_subscription_token channel %}``: a subscription token for a
  private channel;
* ``{% centrifuge_config "element-id" %}``: both as
  ``<script id="element-id" type="application/json">{"endpoint": ..., "token": ...}</script>``,
  for ``JSON.parse(document.getElementById("element-id").textContent)``.

The tags read the user from ``request`` (the ``request`` context processor)
or ``user`` (the ``auth`` one) in the context.
"""

from __future__ import annotations

from typing import Any, Optional

from django import template
from django.utils.html import json_script
from django.utils.safestring import SafeString

from .. import BrowserConfig, connection_token, subscription_token, websocket_url

register = template.Library()


def _user(context: template.Context) -> Optional[Any]:
    request = context.get("request")
    if request is not None and hasattr(request, "user"):
        return request.user
    return context.get("user")


@register.simple_tag
def centrifuge_endpoint() -> str:
    return websocket_url()


@register.simple_tag(takes_context=True)
def centrifuge_token(context: template.Context) -> str:
    return connection_token(_user(context))


@register.simple_tag(takes_context=True)
def centrifuge_subscription_token(context: template.Context, channel: str) -> str:
    return subscription_token(_user(context), channel)


@register.simple_tag(takes_context=True)
def centrifuge_config(context: template.Context, element_id: str = "centrifuge-config") -> SafeString:
    return json_script(BrowserConfig(_user(context)).as_dict(), element_id)
