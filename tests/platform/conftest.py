from tests.marketplace.conftest import world  # noqa: F401  (the order world: test_logging)
