from tests.customs.conftest import sandbox, sandbox_process  # noqa: F401  (the real sandbox)
from tests.marketplace.conftest import world  # noqa: F401  (the order world: test_logging)
