"""The production systemd units (deploy/systemd/): every process restarts (Restart=always, no
start limit), a worker group per queue covers every queue a task is routed to, one beat; and
systemd itself accepts the files (systemd-analyze verify, where it is installed)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from django.conf import settings

from tests.support import BASE_DIR

UNITS = BASE_DIR / "deploy" / "systemd"


def _keys(path) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        found = re.match(r"^([A-Za-z]+)=(.*)$", line)
        if found:
            keys.setdefault(found.group(1), []).append(found.group(2))
    return keys


def test_every_process_restarts_and_each_queue_has_a_worker_group():
    services = sorted(UNITS.glob("*.service"))
    assert {p.name for p in services} == {
        "bondport-web.service", "bondport-worker@.service", "bondport-beat.service",
    }  # fmt: skip
    for path in services:
        keys = _keys(path)
        assert keys["Restart"] == ["always"], path.name
        assert keys["StartLimitIntervalSec"] == ["0"], path.name  # never gives up
        assert keys["WantedBy"] == ["bondport.target"], path.name
    web = _keys(UNITS / "bondport-web.service")["ExecStart"][0]
    assert "gunicorn config.wsgi" in web
    worker = _keys(UNITS / "bondport-worker@.service")["ExecStart"][0]
    assert "celery -A config worker" in worker and "-Q %i" in worker
    documented = set(re.findall(r"bondport-worker@(\w+)", (UNITS / "bondport-worker@.service")
                                .read_text()))  # fmt: skip
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert routed | {settings.CELERY_TASK_DEFAULT_QUEUE} <= documented
    beat = _keys(UNITS / "bondport-beat.service")["ExecStart"][0]
    assert "celery -A config beat" in beat


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze")
def test_systemd_accepts_the_units(tmp_path):
    venv = BASE_DIR / ".venv"
    for path in [*UNITS.glob("*.service"), *UNITS.glob("*.target")]:
        text = path.read_text().replace("/srv/bondport/.venv", str(venv))
        (tmp_path / path.name).write_text(text)
    template = (tmp_path / "bondport-worker@.service").read_text()
    names = ["bondport-web.service", "bondport-beat.service", "bondport.target"]
    for queue in ("customs_filing", "customs_receipts", "default"):
        (tmp_path / f"bondport-worker@{queue}.service").write_text(template)
        names.append(f"bondport-worker@{queue}.service")
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *names], cwd=tmp_path,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    ours = [line for line in (result.stdout + result.stderr).splitlines() if "bondport" in line]
    assert result.returncode == 0 and not ours, result.stdout + result.stderr
