"""Count each sweep's runs and what it recovered (Celery's task_success, in the worker)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

logger = logging.getLogger(__name__)

# Keys of a sweep's report that say what is still waiting, not what the run recovered.
NOT_RECOVERED = frozenset({"due"})


def recovered_by(result) -> int:
    """A sweep returns how many things it put right: an int, or a dict of ints by kind."""
    if isinstance(result, bool):
        return int(result)
    if isinstance(result, int):
        return max(result, 0)
    if isinstance(result, dict):
        return sum(
            recovered_by(value)
            for key, value in result.items()
            if key not in NOT_RECOVERED and isinstance(value, int | bool)
        )
    return 0


def _plain(result) -> dict:
    if isinstance(result, dict):
        return {str(k): v for k, v in result.items() if isinstance(v, int | float | str | bool)}
    if isinstance(result, int | float | bool):
        return {"result": result}
    return {}


def sweep_tally_record(*, task: str, result) -> None:
    from ops.models import SweepTally

    now, recovered = timezone.now(), recovered_by(result)
    fields = {
        "runs": F("runs") + 1,
        "recovered": F("recovered") + recovered,
        "last_run_at": now,
        "last_recovered": recovered,
        "last_result": _plain(result),
    }
    if SweepTally.objects.filter(task=task).update(**fields):
        return
    try:
        with transaction.atomic():
            SweepTally.objects.create(
                task=task, runs=1, recovered=recovered, last_run_at=now,
                last_recovered=recovered, last_result=_plain(result),
            )  # fmt: skip
    except IntegrityError:  # another worker created it first
        SweepTally.objects.filter(task=task).update(**fields)


def sweep_succeeded(sender=None, result=None, **kwargs) -> None:
    name = getattr(sender, "name", "")
    if name not in settings.OPS_SWEEP_TASKS:
        return
    try:
        sweep_tally_record(task=name, result=result)
    except Exception:  # a tally must never fail the sweep it counts
        logger.warning("sweep tally of %s not recorded", name, exc_info=True)
