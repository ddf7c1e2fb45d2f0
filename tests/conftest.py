"""Shared fixtures: service requirements and real Celery worker processes."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from tests.support import WorkerProcess

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def _missing(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


def _redis_answers() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres"):
        engine = settings.DATABASES["default"]["ENGINE"]
        if "postgresql" not in engine:
            _missing("this test needs PostgreSQL (set DATABASE_URL=postgres://...)")
    if item.get_closest_marker("redis") and not _redis_answers():
        _missing(f"this test needs Redis at {REDIS_URL}")


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    """Each test starts with an empty per-process reference cache (config/refcache.py): rows
    a previous test cached were rolled back or flushed with its database."""
    from config import refcache
    from config.tasks import coalesced_forget

    refcache.forget()
    # A push another test queued (and no worker took) must not swallow this test's nudge.
    coalesced_forget("customs.tasks.declarations_push")
    coalesced_forget("customs.tasks.receipts_due")
    yield
    refcache.forget()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.call_failed = report.failed  # read by fixtures that keep evidence of a failure
    return report


WORKER_LOGS = Path(settings.BASE_DIR) / "ci-artifacts" / "worker-logs"


@pytest.fixture
def celery_worker_process(transactional_db, request) -> Iterator[type[WorkerProcess]]:
    """Start real worker processes: `celery_worker_process("default").start()`. When the test
    fails, each worker's output is kept in ci-artifacts/worker-logs/ and its tail printed (a
    flaky wait is otherwise a timeout with nothing to read)."""
    started: list[WorkerProcess] = []

    def factory(queues: str = "default", **kwargs) -> WorkerProcess:
        worker = WorkerProcess(queues, **kwargs)
        started.append(worker)
        return worker

    yield factory
    for worker in started:
        worker.stop()
    if getattr(request.node, "call_failed", False):
        WORKER_LOGS.mkdir(parents=True, exist_ok=True)
        for n, worker in enumerate(started):
            name = f"{request.node.name[:120]}-{n}-{worker.queues.replace(',', '+')}.log"
            (WORKER_LOGS / name).write_text("".join(worker.output))
            print(f"--- worker {n} ({worker.queues}), last lines:\n" + "".join(worker.output[-30:]))


@pytest.fixture(scope="session", autouse=True)
def _empty_test_broker_folder() -> None:
    """Messages left by an interrupted earlier run must not reach this run's workers."""
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    folder = options.get("data_folder_in")
    if settings.CELERY_BROKER_URL.startswith("filesystem://") and folder:
        for message in Path(folder).glob("*.msg"):
            message.unlink(missing_ok=True)


@pytest.fixture(autouse=True)
def _courier_range_per_test(settings) -> None:
    """The sandbox courier's number range lives in the test database (rolled back after each
    test) while the customs sandbox authority remembers every waybill of the session: each test
    draws from its own part of the range, as a real courier never hands a number out twice."""
    import secrets

    settings.COURIER_SANDBOX_WAYBILL_START = 100_000_000_000 + secrets.randbelow(899 * 10**9)
