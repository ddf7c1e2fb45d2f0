"""Periodic work never piles up behind itself: a run not started within its own interval
expires (the next one is due by then)."""

from django.conf import settings


def test_every_periodic_entry_expires_within_its_interval():
    entries = settings.CELERY_BEAT_SCHEDULE
    assert {"customs-sweep", "customs-poll-receipts", "marketplace-clearances-sweep"} <= set(
        entries
    )
    for name, entry in entries.items():
        expires = entry.get("options", {}).get("expires")
        assert expires is not None, f"{name} never expires: slow runs would queue up"
        assert 0 < expires <= float(entry["schedule"]), name
