from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketplaceConfig(AppConfig):
    name = "marketplace"
    verbose_name = _("Marketplace")

    def ready(self) -> None:
        # Our system checks (config/checks.py) register on import; the sandbox adapters are
        # refused here, at start, on a production node that does not allow them.
        from config import checks

        checks.refuse_sandbox_adapters()
        from marketplace import auth

        auth._connect()  # a changed token, user or shopper drops the cached tokens
        from marketplace import storefront_cache

        storefront_cache.connect()  # a saved catalog row: every kept page rendered again
