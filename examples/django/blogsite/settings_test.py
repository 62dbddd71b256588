"""Settings for `manage.py test --settings=blogsite.settings_test`: the tests
start their own Centrifuge server and override the CENTRIFUGE_* settings and
BLOG_PROXY_KEY with its values; these only let the system checks pass first."""

import os

os.environ.setdefault("CENTRIFUGE_API_KEY", "set-by-the-tests")
os.environ.setdefault("CENTRIFUGE_SECRET", "set-by-the-tests-0123456789abcdef")
os.environ.setdefault("BLOG_PROXY_KEY", "set-by-the-tests-0123456789")

from .settings import *  # noqa: E402,F401,F403
