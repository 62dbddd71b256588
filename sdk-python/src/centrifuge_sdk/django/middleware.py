"""``CentrifugeErrorMiddleware``: a :class:`~centrifuge_sdk.CentrifugeError`
that escapes a view (the server is down, a wrong API key, an unknown channel)
becomes a clear 502/503 answer instead of Django's 500 page::

    MIDDLEWARE = [..., "centrifuge_sdk.django.middleware.CentrifugeErrorMiddleware"]

* :class:`~centrifuge_sdk.NetworkError` (no answer, timeout): 503 with
  ``Retry-After``; the server cannot be reached, retrying later may work;
* :class:`~centrifuge_sdk.APIError` and :class:`~centrifuge_sdk.ResponseError`:
  502, the server refused the call or answered something else.

The answer is JSON (``{"error": {"type", "message"}}``) when the request asks
for JSON (``Accept: application/json`` or an ``XMLHttpRequest``), else plain
text. The error is logged (logger ``centrifuge_sdk.django``) with its
traceback. Views that can do better (save the comment and tell the user the
live update failed, say) catch the error themselves: the middleware only sees
what they let through. Works for sync and async views.
"""

from __future__ import annotations

import json
import logging
from typing import Callable, Optional

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

from ..errors import APIError, CentrifugeError, NetworkError

logger = logging.getLogger("centrifuge_sdk.django")

#: Seconds a client is told to wait before retrying after a 503.
RETRY_AFTER = 5


def error_response(request: HttpRequest, exc: CentrifugeError) -> HttpResponse:
    """The answer for ``exc``: 503 for a network error, else 502 (see the module)."""
    status = 503 if isinstance(exc, NetworkError) else 502
    if isinstance(exc, NetworkError):
        message = "The real-time server cannot be reached; try again in a moment."
    elif isinstance(exc, APIError):
        message = f"The real-time server refused the request: {exc}"
    else:
        message = f"The real-time server gave an unexpected answer: {exc}"
    accept = request.headers.get("Accept", "")
    if "application/json" in accept or request.headers.get("X-Requested-With") == "XMLHttpRequest":
        body = json.dumps({"error": {"type": type(exc).__name__, "message": message}})
        response = HttpResponse(body, status=status, content_type="application/json")
    else:
        response = HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER)
    return response


class CentrifugeErrorMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], object]) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> object:
        # Django calls process_exception for sync and async views alike.
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> Optional[HttpResponse]:
        if not isinstance(exception, CentrifugeError):
            return None
        logger.error("%s %s: %s", request.method, request.path, exception, exc_info=exception)
        return error_response(request, exception)
