import pytest

from tests.customs.conftest import sandbox, sandbox_process, zone  # noqa: F401  (the real sandbox)
from tests.marketplace.conftest import world  # noqa: F401


@pytest.fixture(autouse=True)
def _dispatch_settings(settings):
    settings.COURIER_CALLBACK_SECRET = "test-only-courier-callback-secret"
    settings.COURIER_SANDBOX_DELIVERY_SECONDS = 0
    settings.DISPATCH_WEIGHT_TOLERANCE_PERCENT = 10
    settings.DISPATCH_WEIGHT_TOLERANCE_MIN_KG = "0.050"
