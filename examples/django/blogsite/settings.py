"""Settings of the blog example. Everything that differs per machine comes from
the environment (examples/config.sh writes examples/secrets.local.env, which
`make example-django` loads):

CENTRIFUGE_ADDRESS   the Centrifuge server as Django reaches it (default http://127.0.0.1:8000)
CENTRIFUGE_API_KEY, CENTRIFUGE_SECRET   of the server's project "django"
BLOG_PROXY_KEY       what the server sends to the subscribe-proxy and check views
BLOG_DB              the SQLite file (default db.sqlite3 here)
DJANGO_DEBUG         1 (default) or 0
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
REPO = BASE_DIR.parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "blog-example-not-secret-change-me-in-production")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "centrifuge_sdk.django",
    "blog",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "centrifuge_sdk.django.middleware.CentrifugeErrorMiddleware",
]

ROOT_URLCONF = "blogsite.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "centrifuge_sdk.django.context_processors.centrifuge",
            ],
        },
    },
]

WSGI_APPLICATION = "blogsite.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("BLOG_DB", str(BASE_DIR / "db.sqlite3")),
    }
}

AUTH_PASSWORD_VALIDATORS = []
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

STATIC_URL = "static/"
# sdk-js's browser bundle (`make sdk-js` builds it): /static/centrifuge.js;
# the page's script and style, shared with examples/rails: /static/shared/.
STATICFILES_DIRS = [REPO / "sdk-js" / "dist", ("shared", BASE_DIR.parent / "shared")]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "post-list"
LOGOUT_REDIRECT_URL = "post-list"

# Centrifuge: project "django" of the server (examples/config.sh).
CENTRIFUGE_ADDRESS = os.environ.get("CENTRIFUGE_ADDRESS", "http://127.0.0.1:8000")
CENTRIFUGE_API_KEY = os.environ.get("CENTRIFUGE_API_KEY")
CENTRIFUGE_SECRET = os.environ.get("CENTRIFUGE_SECRET")
CENTRIFUGE_PROJECT = "django"
if os.environ.get("CENTRIFUGE_WEBSOCKET_URL"):
    CENTRIFUGE_WEBSOCKET_URL = os.environ["CENTRIFUGE_WEBSOCKET_URL"]
CENTRIFUGE_TOKEN_TTL = 3600

# The key the server sends (static_headers of subscribe_proxy, and in the
# connection check's URL) so that nobody else can call those views.
BLOG_PROXY_KEY = os.environ.get("BLOG_PROXY_KEY", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "blog.logs.RedactCheckKey"}},
    "formatters": {
        "server": {"()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}", "style": "{"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "server": {"class": "logging.StreamHandler", "formatter": "server"},
    },
    "loggers": {
        # runserver's request log, without the connection check's key.
        "django.server": {"handlers": ["server"], "filters": ["redact"], "level": "INFO", "propagate": False},
        "django.request": {"filters": ["redact"]},
        "blog": {"handlers": ["console"], "level": "INFO"},
        "centrifuge_sdk": {"handlers": ["console"], "level": "INFO"},
    },
}
