"""Brute-force guard for the web sign-in and registration forms (the API has DRF throttles).

Failures are counted in the shared cache, so every web node agrees: per account name (someone
guessing one shopper's password from many addresses) and per client address (one address
trying many accounts, or registering many). Past the limit the name or address is locked for
`SIGNIN_LOCKOUT_MINUTES`; a successful sign-in clears the name's count. Keys hold a hash, never
what was typed.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache


@dataclass(frozen=True)
class Subject:
    """One thing failures are counted against: ("signin-name", "13800000001") etc."""

    kind: str
    value: str
    limit: int


def _key(prefix: str, subject: Subject) -> str:
    digest = hashlib.sha256(f"{subject.kind}\n{subject.value.strip().lower()}".encode())
    return f"bondport:{prefix}:{subject.kind}:{digest.hexdigest()[:40]}"


def _window() -> int:
    return settings.SIGNIN_LOCKOUT_MINUTES * 60


def client_address(request) -> str:
    """The peer address. Behind a proxy set the real one in REMOTE_ADDR (gunicorn
    --forwarded-allow-ips); a client-sent X-Forwarded-For is never trusted here."""
    return request.META.get("REMOTE_ADDR") or "unknown"


def signin_subjects(*, request, username: str) -> list[Subject]:
    subjects = [Subject("signin-ip", client_address(request), settings.SIGNIN_MAX_FAILURES_PER_IP)]
    if username:
        subjects.append(Subject("signin-name", username, settings.SIGNIN_MAX_FAILURES))
    return subjects


def register_subjects(*, request) -> list[Subject]:
    return [Subject("register-ip", client_address(request), settings.REGISTER_MAX_PER_IP)]


def attempts_locked_seconds(*, subjects: list[Subject]) -> int:
    """Seconds until every subject is open again; 0 when none is locked."""
    now = time.time()
    until = [cache.get(_key("lock", s)) or 0 for s in subjects]
    return max(0, math.ceil(max(until, default=0) - now))


def attempt_failed(*, subjects: list[Subject]) -> int:
    """Count one failure against each subject; lock those at their limit. Returns the
    seconds locked (0 when still open)."""
    window = _window()
    for subject in subjects:
        key = _key("fail", subject)
        cache.add(key, 0, timeout=window)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window)
            count = 1
        if count >= subject.limit:
            cache.set(_key("lock", subject), time.time() + window, timeout=window)
            cache.delete(key)
    return attempts_locked_seconds(subjects=subjects)


def attempts_clear(*, subjects: list[Subject]) -> None:
    cache.delete_many([_key("fail", s) for s in subjects])
