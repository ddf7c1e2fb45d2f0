import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _no_cached_quota_bands():
    """Quota bands are cached per year (Redis outlives a test): start and end without them."""
    keys = [f"supervision:quota-bands:{year}" for year in range(2019, 2030)]
    cache.delete_many(keys)
    yield
    cache.delete_many(keys)
