from django.apps import AppConfig


class CentrifugeConfig(AppConfig):
    """Installs the ``{% load centrifuge %}`` template tags."""

    name = "centrifuge_sdk.django"
    label = "centrifuge_sdk"
    verbose_name = "Centrifuge"
