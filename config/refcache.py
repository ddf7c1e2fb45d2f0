"""A per-process cache for reference rows that every order placement reads and staff seldom
change: locations, risk rules, customs parties, positive-list lines, account-book records,
and the kiosks the counters' requests authenticate as.

Without it a placement spent a third of its statements re-reading the same rows. An entry
lives `REFERENCE_CACHE_SECONDS` (default 10; 0 turns the cache off), and the cache holds at
most `REFERENCE_CACHE_MAX_ENTRIES` entries (a cachetools TTLCache: past that the entry closest
to expiry goes first), so keys drawn from requests (item sets, codes) cannot grow a process.

Saving or deleting a row of a model an entry was read from drops that entry in this process at
once (and again when the change commits). Writes that bypass `save()` do the same when they go
through the model's manager: give a cached model `objects = RefQuerySet.as_manager()`, whose
`update()`, `bulk_create()` and `bulk_update()` drop the entries read from it (a queryset
`delete()` already sends post_delete per row while this module listens). Raw SQL does not:
say so where it is written. Other processes see any change when their entry expires, so a rule
or a suspension takes effect everywhere within that many seconds.

A value read inside a transaction is kept only once the transaction commits: rows the
transaction itself wrote and then rolled back never reach the cache.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import TypeVar

from cachetools import TTLCache
from django.conf import settings
from django.db import models, transaction
from django.db.models.signals import post_delete, post_save

T = TypeVar("T")

_cache: TTLCache | None = None
_watched: set[str] = set()  # labels of the models some entry was read from
_lock = threading.Lock()
_MISSING = object()


def _entries() -> TTLCache:
    """The cache, rebuilt empty when its size or lifetime setting changed (tests, reloads).
    Call with _lock held."""
    global _cache
    size, ttl = settings.REFERENCE_CACHE_MAX_ENTRIES, settings.REFERENCE_CACHE_SECONDS
    if _cache is None or (_cache.maxsize, _cache.ttl) != (size, ttl):
        # The timer looks time.monotonic up on each call, so a test may move the clock.
        _cache = TTLCache(maxsize=size, ttl=ttl, timer=lambda: time.monotonic())
    return _cache


def size() -> int:
    """How many entries this process holds now (expired ones not counted)."""
    with _lock:
        cache = _entries()
        cache.expire()
        return len(cache)


def cached(models: tuple[str, ...], key: Hashable, load: Callable[[], T]) -> T:
    """`load()`, or its value from the last `REFERENCE_CACHE_SECONDS`. `models` are the labels
    ("customs.RiskRule") of every model the value is read from: a save of any drops it."""
    if settings.REFERENCE_CACHE_SECONDS <= 0 or settings.REFERENCE_CACHE_MAX_ENTRIES <= 0:
        return load()
    _watched.update(models)
    full_key = (models, key)
    with _lock:
        value = _entries().get(full_key, _MISSING)
    if value is not _MISSING:
        return value  # type: ignore[return-value]
    value = load()

    def keep() -> None:
        with _lock:
            _entries()[full_key] = value

    transaction.on_commit(keep)  # at once outside a transaction
    return value


def forget(label: str | None = None) -> None:
    """Drop the entries read from model `label` ("bonded.Location"), or every entry."""
    with _lock:
        cache = _entries()
        if label is None:
            cache.clear()
            return
        for full_key in [k for k in list(cache.keys()) if label in k[0]]:
            cache.pop(full_key, None)


def changed(label: str) -> None:
    """Rows of model `label` changed in this process: drop its entries now and at commit (a
    read between now and then would otherwise keep the old rows)."""
    if label in _watched:
        forget(label)
        transaction.on_commit(lambda: forget(label))


class RefQuerySet(models.QuerySet):
    """The queryset of a cached model: its writes that bypass `save()` drop the cache too."""

    def update(self, **kwargs) -> int:
        rows = super().update(**kwargs)
        changed(self.model._meta.label)
        return rows

    def bulk_create(self, objs, *args, **kwargs):
        created = super().bulk_create(objs, *args, **kwargs)
        changed(self.model._meta.label)
        return created

    def bulk_update(self, objs, *args, **kwargs) -> int:
        rows = super().bulk_update(objs, *args, **kwargs)
        changed(self.model._meta.label)
        return rows


def _on_change(sender, **kwargs) -> None:
    changed(sender._meta.label)


post_save.connect(_on_change, dispatch_uid="refcache-save")
post_delete.connect(_on_change, dispatch_uid="refcache-delete")
