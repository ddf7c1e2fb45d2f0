"""Helpers for tests that start real processes or wait on them."""

import contextlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

BASE_DIR = Path(__file__).resolve().parent.parent


def die_with_parent() -> None:
    """Run in the child before exec: if the test run is killed, its helper processes die too
    (Linux PR_SET_PDEATHSIG) instead of living on and holding ports and files."""
    import ctypes
    import signal

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def test_database_url() -> str:
    """DATABASE_URL of the test database, for processes the tests start."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


def production_env(**overrides: str) -> dict[str, str]:
    """A production environment that starts: every secret of 32+ characters, real (test)
    adapters instead of the sandboxes, the gateway URLs named. `overrides` may blank one."""
    import secrets

    inherited = {
        k: v
        for k, v in os.environ.items()
        # The browser tests' async-safety escape hatch must not leak into a deployment check.
        if not k.startswith(("DJANGO", "DATABASE", "DEBUG")) and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env = {
        **inherited,
        "BONDPORT_ENV": "production",
        "SECRET_KEY": "prod-" + secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEY": secrets.token_urlsafe(40),
        "CUSTOMS_GATEWAY_SECRET": secrets.token_urlsafe(32),
        "PAYMENT_PROVIDER_SECRET": secrets.token_urlsafe(32),
        "COURIER_CALLBACK_SECRET": secrets.token_urlsafe(32),
        "PAYMENT_PROVIDER": "tests.adapters.ProductionProvider",
        "COURIER_PROVIDER": "tests.adapters.ProductionCourier",
        "CUSTOMS_GATEWAY_URL": "https://eport.example.cn/ceb/customs",
        "CUSTOMS_CIQ_URL": "https://eport.example.cn/ceb/ciq",
        "ALLOWED_HOSTS": "shop.example.cn",
        "ALLOW_SANDBOXES_IN_PRODUCTION": "",
    }
    env.update(overrides)
    return env


class ManagedProcess:
    """A child process the tests start, read line by line until it says it is ready."""

    name = "process"

    def __init__(self) -> None:
        self.output: list[str] = []
        self.proc: subprocess.Popen | None = None
        self._ready = threading.Event()

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def on_line(self, line: str) -> bool:
        """Return True when this line shows the process is ready."""
        raise NotImplementedError

    def start(self, timeout: float = 60):
        self.proc = subprocess.Popen(
            self.command(), cwd=BASE_DIR, env=self.environment(), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, preexec_fn=die_with_parent,
        )  # fmt: skip
        threading.Thread(target=self._pump, daemon=True).start()
        if not self._ready.wait(timeout):
            self.stop()
            raise RuntimeError(f"{self.name} did not start:\n" + "".join(self.output[-40:]))
        return self

    def _pump(self) -> None:
        assert self.proc and self.proc.stdout
        for line in self.proc.stdout:
            self.output.append(line)
            if self.on_line(line):
                self._ready.set()

    def kill(self) -> None:
        """SIGKILL: the process dies mid-work, as in a power cut."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


class WorkerProcess(ManagedProcess):
    """A real `celery worker` process on the test database and the test broker."""

    name = "worker"

    def __init__(self, queues: str, concurrency: int = 1, extra_env: dict | None = None):
        super().__init__()
        self.queues = queues
        self.concurrency = concurrency
        self.extra_env = extra_env or {}

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO",
            f"--concurrency={self.concurrency}", "--without-gossip", "--without-mingle",
            "--without-heartbeat", "-Q", self.queues,
        ]  # fmt: skip

    def environment(self) -> dict[str, str]:
        return {**os.environ, "DATABASE_URL": test_database_url(), **self.extra_env}

    def on_line(self, line: str) -> bool:
        return " ready." in line

    def pool_pids(self) -> list[int]:
        """The prefork pool's processes (children of the worker), from /proc."""
        if not self.proc:
            return []
        pids = []
        for task in Path(f"/proc/{self.proc.pid}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                pids += [int(pid) for pid in task.read_text().split()]
        return pids

    def kill(self) -> None:
        """SIGKILL the worker and its pool at once, as a node or container dying does: a
        pool process left behind would finish its task and hide the kill."""
        import signal

        children = self.pool_pids()
        super().kill()
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def wait_until(predicate, timeout: float = 30, interval: float = 0.1):
    """Poll until predicate() is truthy; return its value or fail with the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout}s")
