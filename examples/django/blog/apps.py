from django.apps import AppConfig
from django.conf import settings
from django.core import checks


class BlogConfig(AppConfig):
    name = "blog"
    default_auto_field = "django.db.models.BigAutoField"


@checks.register()
def check_proxy_key(app_configs, **kwargs):
    key = getattr(settings, "BLOG_PROXY_KEY", "")
    if not key or len(key) < 16:
        return [checks.Error(
            "settings.BLOG_PROXY_KEY is not set or shorter than 16 characters.",
            hint="examples/config.sh writes one to examples/secrets.local.env; the server sends it "
                 "to the subscribe-proxy and connection-check views.",
            obj="settings", id="blog.E001")]
    return []
