"""The connection check's URL carries BLOG_PROXY_KEY (the server's check sends
no headers), so the request log of runserver must not print it."""

import logging
import re

_CHECK = re.compile(r"(/centrifuge/check/)[^\s\"?]+")


class RedactCheckKey(logging.Filter):
    def filter(self, record):
        message = record.getMessage()
        redacted = _CHECK.sub(r"\1[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
