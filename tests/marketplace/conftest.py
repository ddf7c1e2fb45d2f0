import pytest

from tests.customs.conftest import sandbox, sandbox_process  # noqa: F401  (the real sandbox)
from tests.marketplace.factories import OrderWorld


@pytest.fixture
def world(db, settings):
    settings.DELIVERY_DOCK_CODE = "CW-DOCK"
    settings.PAYMENT_PROVIDER_SECRET = "test-only-payment-provider-secret"
    return OrderWorld()
