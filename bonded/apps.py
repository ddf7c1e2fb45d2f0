from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BondedConfig(AppConfig):
    name = "bonded"
    verbose_name = _("Bonded")
