import pytest
from rest_framework.test import APIClient

from tests.customs.conftest import sandbox, sandbox_process  # noqa: F401  (the real sandbox)
from tests.pickup import factories


@pytest.fixture
def kiosk_pair(db):
    return factories.kiosk("C-ZZ1")


@pytest.fixture
def kiosk(kiosk_pair):
    return kiosk_pair[0]


@pytest.fixture
def api(kiosk_pair):
    """An API client authenticated with the C-ZZ1 kiosk's key."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Kiosk {kiosk_pair[1]}")
    return client
