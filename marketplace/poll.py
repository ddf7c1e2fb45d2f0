"""The shopper's wait for customs, as one cheap call (the order-status poll).

A waiting shopper's app (and the order page) asks "has my order moved?" until it is ready. The
answer costs **one statement** with a token (the token, its user, the shopper and the order's
state columns read by one join) and two with a session (the session row, then the order with
its user's password hash to check the session's auth hash, as Django's own check does): no
user, shopper or line rows are loaded.

- `ETag`: a hash of the order's state columns (its state, reason, clearance state and the
  step times) and the language: `If-None-Match` with it is answered `304 Not Modified` with no
  body.
- When to ask again: `poll_after_ms` in the body, `X-Poll-After-Ms` and `Retry-After`
  (seconds) in the headers of 200 and 304 alike; `null` / absent once the order is final.
  It grows with this process's load (requests in flight against its threads,
  config/admission.py), so polls back off before the web saturates instead of adding to it.
- Once released, the answer carries what other apps add (settings.ORDER_STATUS_EXTRAS: the
  pickup code), so the shopper needs no second call.

Long-poll or server-sent events would hold one gunicorn thread per waiting shopper on the sync
and gthread workers this runs on; a poll that usually costs one statement and a 304 does not.
"""

from __future__ import annotations

import hashlib
import random

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.module_loading import import_string
from django.utils.translation import get_language

from config import admission
from marketplace.models import Order

# What the poll reads of an order (and what its ETag is made of).
FIELDS = (
    "id",
    "number",
    "state",
    "state_reason",
    "clearance_state",
    "delivery_mode",
    "counter_code",
    "created_at",
    "filed_at",
    "paid_at",
    "released_at",
    "dispatched_at",
    "delivered_at",
    "return_no",
)
FINAL = {"delivered", "cancelled", "expired", "rejected", "returned"}
# Waiting on the shopper (to pay) or on an officer (an inspection) is slower than waiting on
# the pipeline: ask less often.
STATE_FACTOR = {"placed": 3, "held": 5, "released": 5, "dispatched": 10}


def _token_key(request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    parts = header.split()
    if len(parts) == 2 and parts[0].lower() == "token":
        return parts[1]
    return None


def order_row_for_request(
    request, order_no: str, *, extra: tuple[str, ...] = ()
) -> tuple[dict | None, bool]:
    """(the order's poll columns, authenticated?) for the caller's own order, by token or
    session, in one statement (two with a session). Someone else's order is None, exactly
    like one that does not exist."""
    orders = Order.objects.filter(number=str(order_no)[:32], shopper__user__is_active=True)
    key = _token_key(request)
    if key is not None:
        row = orders.filter(shopper__user__auth_token__key=key).values(*FIELDS, *extra).first()
        return row, row is not None or _token_exists(key)
    session = getattr(request, "session", None)
    user_id = session.get(SESSION_KEY) if session is not None else None
    if user_id is None:
        return None, False
    row = (
        orders.filter(shopper__user_id=user_id)
        .values(*FIELDS, *extra, "shopper__user__password")
        .first()
    )
    if row is None:
        return None, True  # signed in; not theirs (or no shopper profile)
    password = row.pop("shopper__user__password")
    if not _session_hash_ok(session, password):
        return None, False
    return row, True


def _token_exists(key: str) -> bool:
    """Only on a miss: a valid token whose order is not there (404) or a wrong token (401)."""
    from rest_framework.authtoken.models import Token

    return Token.objects.filter(key=key, user__is_active=True).exists()


def _session_hash_ok(session, password: str) -> bool:
    """Django's own check (a session ends when its user's password changes), without loading
    the user: the HMAC of the password hash read with the order."""
    if session.get(BACKEND_SESSION_KEY) not in settings.AUTHENTICATION_BACKENDS:
        return False
    stored = session.get(HASH_SESSION_KEY) or ""
    key_salt = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash"
    for secret in [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]:
        expected = salted_hmac(key_salt, password, secret=secret, algorithm="sha256").hexdigest()
        if constant_time_compare(stored, expected):
            return True
    return False


def etag_for(row: dict) -> str:
    parts = [str(row[f]) for f in FIELDS] + [get_language() or ""]
    return 'W/"' + hashlib.blake2b("|".join(parts).encode(), digest_size=12).hexdigest() + '"'


def if_none_match(request, etag: str) -> bool:
    header = request.META.get("HTTP_IF_NONE_MATCH", "")
    return bool(header) and any(tag.strip() == etag for tag in header.split(","))


def poll_after_ms(state: str) -> int | None:
    """When this shopper should ask again: None once final; more as this process gets busy."""
    if state in FINAL:
        return None
    capacity = max(1, settings.POLL_CAPACITY)
    busy = max(0, admission.in_flight() - 1) / capacity  # the other requests in flight
    ms = settings.POLL_BASE_MS * STATE_FACTOR.get(state, 1) * (1 + settings.POLL_LOAD_FACTOR * busy)
    ms *= random.uniform(0.9, 1.1)  # spread the shoppers out
    return int(min(ms, settings.POLL_MAX_MS))


def with_interval(response, ms: int | None, etag: str | None = None):
    if etag:
        response["ETag"] = etag
    if ms is not None:
        response["X-Poll-After-Ms"] = str(ms)
        response["Retry-After"] = str(max(1, round(ms / 1000)))
    # The answer depends on who asks and in which language; never shared by a cache.
    response["Cache-Control"] = "private, no-cache"
    response["Vary"] = "Authorization, Cookie, Accept-Language"
    return response


def extras(row: dict) -> dict:
    """What other apps add once the order is released (the pickup code)."""
    out: dict = {}
    for path in settings.ORDER_STATUS_EXTRAS:
        out |= import_string(path)(row)
    return out


def order_from_row(row: dict) -> Order:
    """An unsaved Order carrying the poll's columns (and the shopper's registration time when
    read), for code that takes an order (the timeline): nothing more is read."""
    from marketplace.models import Shopper

    fields = {f: row[f] for f in FIELDS}
    order = Order(**fields)
    if "shopper__created_at" in row:
        order.shopper = Shopper(created_at=row["shopper__created_at"])
    return order
