"""A per-process cache for reference rows that every order placement reads and staff seldom
change: locations, risk rules, customs parties, positive-list lines, account-book records.

Without it a placement spent a third of its statements re-reading the same rows. An entry
lives `REFERENCE_CACHE_SECONDS` (default 10; 0 turns the cache off). Saving or deleting a row
of a model an entry was read from drops that entry in this process at once (and again when the
change commits); other processes see the change when their entry expires, so a rule or a
suspension takes effect everywhere within that many seconds.

A value read inside a transaction is kept only once the transaction commits: rows the
transaction itself wrote and then rolled back never reach the cache.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save

T = TypeVar("T")

_entries: dict[tuple, tuple[float, object]] = {}
_watched: set[str] = set()  # labels of the models some entry was read from
_lock = threading.Lock()
_MISSING = object()


def cached(models: tuple[str, ...], key: Hashable, load: Callable[[], T]) -> T:
    """`load()`, or its value from the last `REFERENCE_CACHE_SECONDS`. `models` are the labels
    ("customs.RiskRule") of every model the value is read from: a save of any drops it."""
    ttl = settings.REFERENCE_CACHE_SECONDS
    if ttl <= 0:
        return load()
    _watched.update(models)
    full_key = (models, key)
    now = time.monotonic()
    expires, value = _entries.get(full_key, (0.0, _MISSING))
    if value is not _MISSING and expires > now:
        return value  # type: ignore[return-value]
    value = load()

    def keep() -> None:
        with _lock:
            _entries[full_key] = (now + ttl, value)

    transaction.on_commit(keep)  # at once outside a transaction
    return value


def forget(label: str | None = None) -> None:
    """Drop the entries read from model `label` ("bonded.Location"), or every entry."""
    with _lock:
        for full_key in [k for k in _entries if label is None or label in k[0]]:
            del _entries[full_key]


def _on_change(sender, **kwargs) -> None:
    label = sender._meta.label
    if label in _watched:
        forget(label)
        transaction.on_commit(lambda: forget(label))  # a read between now and the commit


post_save.connect(_on_change, dispatch_uid="refcache-save")
post_delete.connect(_on_change, dispatch_uid="refcache-delete")
