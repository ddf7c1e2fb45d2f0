"""Exactly one beat (config/beatlock.py): while a beat runs, a second one exits at once with a
message naming the holder; when the first is SIGKILLed the lock is free for the next one. On
PostgreSQL this is the advisory lock (per database, any machine); on SQLite an flock."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.db import connection

from tests.support import BASE_DIR, ManagedProcess, test_database_url, wait_until


class BeatProcess(ManagedProcess):
    name = "beat"

    def __init__(self, schedule) -> None:
        super().__init__()
        self.schedule = schedule

    def command(self) -> list[str]:
        return [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO",
                "-s", str(self.schedule)]  # fmt: skip

    def environment(self) -> dict[str, str]:
        return {**os.environ, "DATABASE_URL": test_database_url()}

    def on_line(self, line: str) -> bool:
        return "beat lock held" in line


@pytest.mark.django_db(transaction=True)
def test_a_second_beat_refuses_to_run_while_the_first_holds_the_lock(tmp_path):
    first = BeatProcess(tmp_path / "one-schedule").start(timeout=120)
    try:
        second = subprocess.run(
            BeatProcess(tmp_path / "two-schedule").command(), cwd=BASE_DIR,
            env={**os.environ, "DATABASE_URL": test_database_url()},
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        said = second.stdout + second.stderr
        assert second.returncode == 3, said[-3000:]
        assert "Another celery beat is running" in said and "refuses to run" in said
        if connection.vendor == "postgresql":
            assert f"bondport-beat {os.uname().nodename}:{first.proc.pid}" in said
            assert "holds the lock" in said
        else:
            assert f"held by {os.uname().nodename}:{first.proc.pid}" in said
        assert first.proc.poll() is None  # the first runs on, untouched
    finally:
        first.kill()  # SIGKILL: no clean-up, the lock must still be freed
    third = BeatProcess(tmp_path / "three-schedule").start(timeout=120)
    try:
        wait_until(lambda: third.proc.poll() is None, timeout=5)
        assert any("beat lock held" in line for line in third.output)
    finally:
        third.stop()
