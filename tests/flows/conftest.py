from tests.marketplace.conftest import world  # noqa: F401
