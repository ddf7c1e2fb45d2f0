from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PickupConfig(AppConfig):
    name = "pickup"
    verbose_name = _("Pickup")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from pickup import schema  # noqa: F401  (registers the OpenAPI auth extensions)
        from pickup.models import Kiosk
        from pickup.services.kiosks import kiosks_forget

        # A saved (revoked, moved) or deleted kiosk is not served from the key cache again.
        post_save.connect(kiosks_forget, sender=Kiosk, dispatch_uid="kiosks-forget-save")
        post_delete.connect(kiosks_forget, sender=Kiosk, dispatch_uid="kiosks-forget-delete")
