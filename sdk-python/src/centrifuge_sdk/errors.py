"""Exceptions raised by the clients, and the protocol's error codes.

Every exception the clients raise is a :class:`CentrifugeError`:

* :class:`NetworkError`: no answer arrived (connection refused or reset, DNS,
  TLS, a broken HTTP exchange);
  * :class:`RequestTimeoutError`: no answer arrived in time;
* :class:`APIError`: the server answered with an error: a method error (HTTP
  200, ``code`` is a protocol code such as ``ErrorCode.UNKNOWN_CHANNEL``) or an
  HTTP error (4xx/5xx, ``code`` is the status);
* :class:`ResponseError`: the answer could not be understood (not JSON, or not
  the shape of openapi.yaml).
"""

from __future__ import annotations

from typing import Optional

from .codes import TEMPORARY_ERROR_CODES, ErrorCode

__all__ = ["APIError", "CentrifugeError", "ErrorCode", "NetworkError", "RequestTimeoutError", "ResponseError"]


class CentrifugeError(Exception):
    """Base class of every exception of this package."""

    def __init__(self, message: str, *, method: str = "") -> None:
        super().__init__(message)
        self.message = message
        #: The API method that failed, ``"publish"`` for example.
        self.method = method

    def __str__(self) -> str:
        return f"{self.method}: {self.message}" if self.method else self.message


class NetworkError(CentrifugeError):
    """No answer arrived: the server could not be reached or the exchange broke.

    The httpx exception is the ``__cause__``.
    """


class RequestTimeoutError(NetworkError):
    """No answer arrived within the client's timeout."""


class APIError(CentrifugeError):
    """The server answered with an error.

    ``http_status`` is 200 for method errors, whose ``code`` is a protocol code
    (compare with :class:`ErrorCode`); for HTTP errors (400 malformed request,
    401 wrong API key, 404 unknown project, ...) ``code`` is the HTTP status.
    """

    def __init__(self, code: int, message: str, *, method: str = "", http_status: int = 200) -> None:
        super().__init__(message, method=method)
        self.code = code
        self.http_status = http_status

    @property
    def temporary(self) -> bool:
        """Whether the server marked this method error temporary (``INTERNAL``,
        ``TOO_MANY_REQUESTS``): the same call may succeed later."""
        return self.http_status == 200 and self.code in TEMPORARY_ERROR_CODES

    def __str__(self) -> str:
        where = f"{self.method}: " if self.method else ""
        if self.http_status != 200:
            return f"{where}HTTP {self.http_status}: {self.message}"
        return f"{where}error {self.code}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
            f"method={self.method!r}, http_status={self.http_status!r})"
        )


class ResponseError(CentrifugeError):
    """The server's answer could not be understood."""

    def __init__(self, message: str, *, method: str = "", http_status: Optional[int] = None) -> None:
        super().__init__(message, method=method)
        self.http_status = http_status
