"""The production-like stack on this machine: PostgreSQL (own database), Redis (own DB numbers),
gunicorn, Celery workers per queue, beat and the customs sandbox answering at once.

Every process is started here in its own session (process group) and stopped by its id.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BASE = Path(__file__).resolve().parents[2]
VAR = Path(os.environ.get("BENCH_VAR") or BASE / "var" / "bench-pipeline")
PROBE = Path(__file__).resolve().parent / "probe"
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = os.environ.get("BENCH_PIPELINE_DB", "bondport_bench_pipeline")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379")
# Broker and cache DB numbers on that server (FLUSHDB on these two only at each start).
REDIS_DBS = tuple(int(n) for n in os.environ.get("BENCH_REDIS_DBS", "6,7").split(","))
WEB_PORT = int(os.environ.get("BENCH_WEB_PORT", "8801"))
SANDBOX_PORT = int(os.environ.get("BENCH_SANDBOX_PORT", "8811"))


@dataclass
class Layout:
    """How many of each process: what `make bench` varies."""

    web_workers: int = 4
    web_threads: int = 4
    # queue(s) -> concurrency of one prefork worker process group consuming them
    workers: dict = field(
        default_factory=lambda: {"customs_filing": 2, "customs_receipts": 3, "default": 2}
    )
    prefetch: int = 4
    batch_size: int = 50
    synchronous_commit: str = "on"
    conn_max_age: int = 600  # above the window: PostgreSQL backends are counted by pid

    def describe(self) -> dict:
        return {
            "gunicorn": f"{self.web_workers} workers x {self.web_threads} threads (gthread)",
            "celery_workers": {q: f"prefork concurrency {n}" for q, n in self.workers.items()},
            "celery_prefetch": self.prefetch,
            "customs_batch_size": self.batch_size,
            "db_synchronous_commit": self.synchronous_commit,
            "db_conn_max_age": self.conn_max_age,
        }


def environment(layout: Layout) -> dict:
    site = f"http://127.0.0.1:{WEB_PORT}"
    return {
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "CELERY_BROKER_URL": f"{REDIS}/{REDIS_DBS[0]}",
        "CACHE_URL": f"{REDIS}/{REDIS_DBS[1]}",
        "SECRET_KEY": "bench-only-secret-key-0123456789-0123456789-0123456789",
        "FIELD_ENCRYPTION_KEY": "bench-only-field-encryption-key-0123456789abcdef",
        "CUSTOMS_GATEWAY_SECRET": "bench-only-customs-secret",
        "PAYMENT_PROVIDER_SECRET": "bench-only-payment-secret",
        "SITE_URL": site,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PAYMENT_SANDBOX_URL": f"{site}/sandbox/pay",
        "PAYMENT_NOTIFY_URL": f"{site}/payments/notify/",
        "CUSTOMS_GATEWAY_URL": f"http://127.0.0.1:{SANDBOX_PORT}/customs",
        "CUSTOMS_CIQ_URL": f"http://127.0.0.1:{SANDBOX_PORT}/ciq",
        "CUSTOMS_SANDBOX_CALLBACK_URL": f"{site}/api/v1/customs/receipts",
        # Pre-audit inspections would hold orders for an officer: none in the throughput run.
        "CUSTOMS_INSPECTION_RATE_BY_GRADE": "A=0,B=0,C=0,D=0",
        "CUSTOMS_BATCH_SIZE": str(layout.batch_size),
        "CELERY_PREFETCH": str(layout.prefetch),
        "DB_SYNCHRONOUS_COMMIT": layout.synchronous_commit,
        "DB_CONN_MAX_AGE": str(layout.conn_max_age),
        "AUTH_THROTTLE_RATE": "100000/min",
        "CELERY_BEAT_SCHEDULE_FILENAME": str(VAR / "celerybeat-schedule"),
        "LOG_LEVEL": "WARNING",
        "DEBUG": "False",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }


class Stack:
    def __init__(self, layout: Layout, *, probe_dir: Path) -> None:
        self.layout = layout
        self.env = {**os.environ, **environment(layout)}
        self.probe_dir = probe_dir
        self.procs: dict[str, subprocess.Popen] = {}

    def _start(self, role: str, cmd: list[str], ready: str | None) -> subprocess.Popen:
        log = VAR / f"{role}.log"
        env = {
            **self.env,
            "BENCH_ROLE": role,
            "BENCH_PROBE_DIR": str(self.probe_dir),
            "PYTHONPATH": f"{PROBE}{os.pathsep}{BASE}",
        }
        proc = subprocess.Popen(
            cmd,
            cwd=BASE,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs[role] = proc
        deadline = time.monotonic() + 90
        while ready and time.monotonic() < deadline:
            if ready in log.read_text(errors="replace"):
                return proc
            if proc.poll() is not None:
                break
            time.sleep(0.2)
        if ready:
            raise RuntimeError(f"{role} did not start; see {log}")
        return proc

    def start(self) -> None:
        py, layout = sys.executable, self.layout
        bindir = Path(sys.executable).parent
        self._start(
            "sandbox",
            [
                py,
                "manage.py",
                "run_customs_sandbox",
                "--port",
                str(SANDBOX_PORT),
                "--db",
                str(VAR / "sandbox.sqlite3"),
                "--latency-ms",
                "0",
                "--inspection-rate",
                "0",
                "--ciq-inspection-rate",
                "0",
            ],
            "listening on",
        )
        self._start(
            "web",
            [
                str(bindir / "gunicorn"),
                "config.wsgi",
                "--workers",
                str(layout.web_workers),
                "--threads",
                str(layout.web_threads),
                "--bind",
                f"127.0.0.1:{WEB_PORT}",
                "--backlog",
                "2048",
                "--keep-alive",
                "30",
            ],
            "Booting worker",
        )
        for queues, concurrency in layout.workers.items():
            role = "worker-" + queues.replace(",", "+")
            self._start(
                role,
                [
                    py,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "-Q",
                    queues,
                    f"--concurrency={concurrency}",
                    "--without-gossip",
                    "--without-mingle",
                    "--loglevel=WARNING",
                    "-n",
                    f"{role}@%h",
                ],
                None,
            )
        self._start(
            "beat",
            [
                py,
                "-m",
                "celery",
                "-A",
                "config",
                "beat",
                "--loglevel=WARNING",
                "--schedule",
                str(VAR / "celerybeat-schedule"),
            ],
            None,
        )
        self.wait_web()
        time.sleep(3)  # workers connect to the broker

    def wait_web(self) -> None:
        import requests

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{WEB_PORT}/healthz", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError("gunicorn did not answer /healthz")

    def pids(self) -> dict[str, list[int]]:
        """Role -> every pid of its process group (master and its children)."""
        import psutil

        out = {}
        for role, proc in self.procs.items():
            try:
                parent = psutil.Process(proc.pid)
                out[role] = [proc.pid] + [c.pid for c in parent.children(recursive=True)]
            except psutil.NoSuchProcess:
                out[role] = []
        return out

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self.procs.clear()


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    import psutil

    out = {}
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            out[pid] = t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return out
