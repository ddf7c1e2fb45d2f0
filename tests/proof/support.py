"""Real processes for the fault scenarios: a private Redis, gunicorn serving the app, Celery
beat, and a sandbox authority on a fixed port (so it can be stopped and started again)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.customs.support import SandboxProcess
from tests.support import BASE_DIR, ManagedProcess, die_with_parent, test_database_url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A redis-server of the test's own on a free port, no persistence: a restart loses every
    message in it, which is the point. The system Redis is never touched."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        binary = shutil.which("redis-server")
        if not binary:
            raise RuntimeError("redis-server is not installed")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=die_with_parent,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("private redis did not start")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def restart(self) -> None:
        self.kill()
        self.start()

    stop = kill

    def client(self):
        import redis

        return redis.Redis(port=self.port, socket_timeout=2, decode_responses=True)

    def backlog(self) -> dict[str, int]:
        """What a restart would lose, per queue: messages waiting and messages a worker took
        but has not acknowledged yet (kombu's "unacked" hash: [payload, exchange, routing key])."""
        import json

        import redis

        counts: dict[str, int] = {}
        try:
            db = self.client()
            for key in db.scan_iter(count=1000):
                if db.type(key) == "list" and not key.startswith("_kombu"):
                    queue = key.split("\x06")[0]
                    counts[f"{queue} queued"] = counts.get(f"{queue} queued", 0) + db.llen(key)
            for raw in db.hvals("unacked"):
                queue = json.loads(raw)[2] or "?"
                counts[f"{queue} unacked"] = counts.get(f"{queue} unacked", 0) + 1
        except redis.RedisError:
            pass
        return {k: v for k, v in counts.items() if v}

    def keys(self) -> int:
        import redis

        try:
            return self.client().dbsize()
        except redis.RedisError:
            return 0


class Gunicorn(ManagedProcess):
    name = "gunicorn"

    def __init__(self, env: dict, port: int) -> None:
        super().__init__()
        self.env = env
        self.port = port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "gunicorn", "config.wsgi", "--workers", "2", "--threads",
                "4", "--bind", f"127.0.0.1:{self.port}", "--log-level", "info",
                "--timeout", "60"]  # fmt: skip

    def environment(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def on_line(self, line: str) -> bool:
        return "Booting worker" in line


class Beat(ManagedProcess):
    name = "beat"

    def __init__(self, env: dict, schedule: Path) -> None:
        super().__init__()
        self.env = env
        self.schedule = schedule

    def command(self) -> list[str]:
        return [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO",
                "-s", str(self.schedule)]  # fmt: skip

    def environment(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def on_line(self, line: str) -> bool:
        return "beat: Starting" in line


class FixedPortSandbox(SandboxProcess):
    """The sandbox authority on a port of our choosing: stop it (connection refused) and
    start it again on the same address, with the same database."""

    def __init__(self, db_path: Path, *, port: int, callback_url: str, latency_ms: int = 0):
        super().__init__(db_path, callback_url=callback_url)
        self.port = port
        self.latency_ms = latency_ms

    def command(self) -> list[str]:
        cmd = super().command()
        cmd[cmd.index("--port") + 1] = str(self.port)
        cmd[cmd.index("--latency-ms") + 1] = str(self.latency_ms)
        return cmd

    def restarted(self) -> FixedPortSandbox:
        again = FixedPortSandbox(self.db_path, port=self.port, callback_url=self.callback_url,
                                 latency_ms=self.latency_ms)  # fmt: skip
        return again.start()

    def watch(self) -> dict:
        """What the authority sees (customs/sandbox/watch.py): requests in flight, answers
        never read, resends, duplicate-business-key answers, second records."""
        return self.state()

    def duplicated_records(self) -> int:
        """Declarations the authority stored more than once for one order and type."""
        with sqlite3.connect(self.db_path) as db:
            rows = db.execute(
                "SELECT COUNT(*) FROM (SELECT authority, type, order_no, COUNT(*) AS n "
                "FROM records GROUP BY authority, type, order_no HAVING n > 1)"
            ).fetchone()
        return rows[0]

    def accepted_orders(self) -> set[str]:
        with sqlite3.connect(self.db_path) as db:
            return {row[0] for row in db.execute("SELECT DISTINCT order_no FROM records")}


def process_env(
    *, broker: str, sandbox_base: str, web_url: str, secrets: dict, cache: str = ""
) -> dict:
    """What every process of a scenario shares: the test database, the private broker and
    cache, the sandbox, our URLs, and sweeps every 2 s so recovery shows within seconds."""
    return {
        "DATABASE_URL": test_database_url(),
        "CELERY_BROKER_URL": broker,
        **({"CACHE_URL": cache} if cache else {}),
        "CELERY_VISIBILITY_TIMEOUT": "30",
        "CUSTOMS_GATEWAY_URL": f"{sandbox_base}/customs",
        "CUSTOMS_CIQ_URL": f"{sandbox_base}/ciq",
        "CUSTOMS_CONNECT_TIMEOUT": "0.5",
        # The default read timeout: a batch of 50 on a loaded machine takes over 1 s to answer,
        # and a shorter timeout only measures resends (the hold knob makes requests wait now).
        "CUSTOMS_READ_TIMEOUT": "5",
        "CUSTOMS_RETRY_BASE_SECONDS": "0.3",
        "CUSTOMS_RETRY_BACKOFF_MAX": "2",
        "CUSTOMS_MAX_RETRIES": "3",
        "CUSTOMS_LEASE_SECONDS": "12",  # past connect + read timeouts: no second pusher mid-send
        "CUSTOMS_STUCK_AFTER_SECONDS": "3",
        # An accepted declaration with no receipt for 15 s is asked about (status query).
        "CUSTOMS_RECEIPT_OVERDUE_SECONDS": "15",
        "CUSTOMS_SWEEP_SECONDS": "2",
        "CUSTOMS_POLL_SECONDS": "2",
        "ORDERS_CLEARANCE_SWEEP_SECONDS": "2",
        "PAYMENT_NOTIFY_SWEEP_SECONDS": "3",
        "PICKUP_CODES_SWEEP_SECONDS": "5",
        "SITE_URL": web_url,
        "PAYMENT_SANDBOX_URL": f"{web_url}/sandbox/pay",
        "PAYMENT_NOTIFY_URL": f"{web_url}/payments/notify/",
        "CUSTOMS_SANDBOX_CALLBACK_URL": f"{web_url}/api/v1/customs/receipts",
        "DB_CONN_MAX_AGE": "0",
        **secrets,
    }


def csrf_of(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


__all__ = ["BASE_DIR"]
