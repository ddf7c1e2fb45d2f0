from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PickupConfig(AppConfig):
    name = "pickup"
    verbose_name = _("Pickup")

    def ready(self) -> None:
        from pickup import schema  # noqa: F401  (registers the OpenAPI auth extensions)
