from django.apps import AppConfig


class CentrifugeConfig(AppConfig):
    """Installs the ``{% load centrifuge %}`` template tags and the system
    checks of the ``CENTRIFUGE_*`` settings."""

    name = "centrifuge_sdk.django"
    label = "centrifuge_sdk"
    verbose_name = "Centrifuge"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the checks)
