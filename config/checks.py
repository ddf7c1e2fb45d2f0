"""System checks of our own (registered by marketplace.apps): `check --deploy` warns when a
production node runs with the sandboxes allowed, and refuses one whose adapters are sandboxes
by class (a subclass of a sandbox the settings could not recognise by name)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

# (setting, what it names) of every adapter that may be a sandbox.
SANDBOX_SETTINGS = (
    ("PAYMENT_PROVIDER", "payment provider"),
    ("COURIER_PROVIDER", "courier"),
    ("CUSTOMS_TRANSPORT", "customs transport"),
)


def refuse_sandbox_adapters() -> None:
    """Raise ImproperlyConfigured at start when production selects an adapter marked
    `sandbox = True` and ALLOW_SANDBOXES_IN_PRODUCTION does not allow it."""
    if settings.SANDBOXES_ENABLED:
        return
    for name, what in SANDBOX_SETTINGS:
        adapter = import_string(getattr(settings, name))
        if getattr(adapter, "sandbox", False):
            raise ImproperlyConfigured(
                f"{name} ({getattr(settings, name)}) is a sandbox {what}: nothing real happens "
                f"behind it. Set your real adapter, or ALLOW_SANDBOXES_IN_PRODUCTION="
                f"{settings.SANDBOX_CONSENT} on a node that must take no real money."
            )


@checks.register(checks.Tags.security, deploy=True)
def sandboxes_in_production(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if not settings.ALLOW_SANDBOXES_IN_PRODUCTION:
        return []
    return [
        checks.Warning(
            "ALLOW_SANDBOXES_IN_PRODUCTION is set: the sandbox pay pages (/sandbox/pay/), the "
            "sandbox courier and the customs sandbox can be used on this production node; a "
            "shopper can 'pay' without money.",
            hint="Unset ALLOW_SANDBOXES_IN_PRODUCTION unless this node must take no real money.",
            id="bondport.W001",
        )
    ]


@checks.register(checks.Tags.security)
def payment_provider_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """A production node with a real payment adapter (WeChat Pay, Alipay) needs its merchant
    ids and keys: each setting the adapter lists in `required_settings` (a tuple: any one of
    them) set, and every *_PATH naming a readable file. Development falls back to the
    stand-ins' generated keys."""
    if settings.SANDBOXES_ENABLED:
        return []
    adapter = import_string(settings.PAYMENT_PROVIDER)
    found = []
    for required in getattr(adapter, "required_settings", ()):
        names = required if isinstance(required, tuple) else (required,)
        values = {name: getattr(settings, name, "") for name in names}
        if not any(values.values()):
            found.append(
                checks.Error(
                    f"{' or '.join(names)} must be set in production for PAYMENT_PROVIDER="
                    f"{settings.PAYMENT_PROVIDER}.",
                    id="bondport.E010",
                )
            )
            continue
        for name, value in values.items():
            if value and name.endswith("_PATH") and not Path(value).is_file():
                found.append(
                    checks.Error(f"{name} names no readable file ({value}).", id="bondport.E011")
                )
    return found
