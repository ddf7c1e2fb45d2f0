import pytest

from tests.customs.factories import Zone, registry
from tests.customs.support import SandboxProcess


@pytest.fixture(scope="session")
def sandbox_process(tmp_path_factory):
    process = SandboxProcess(tmp_path_factory.mktemp("sandbox") / "sandbox.sqlite3").start()
    yield process
    process.stop()


@pytest.fixture
def sandbox(sandbox_process, settings):
    """The real sandbox process, knobs reset, and our settings pointing at it."""
    sandbox_process.reset()
    settings.CUSTOMS_GATEWAY_URL = sandbox_process.customs_url
    settings.CUSTOMS_CIQ_URL = sandbox_process.ciq_url
    settings.CUSTOMS_READ_TIMEOUT = 2.0
    yield sandbox_process
    sandbox_process.reset()


@pytest.fixture
def zone(db):
    registry()
    return Zone()
