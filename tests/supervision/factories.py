"""Hand-countable supervision fixtures: clearances, hold events and hits written directly."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth.models import Group

from customs.models import ClearanceEvent, Enterprise, OrderClearance, RiskHit
from customs.selectors_stats import Scope
from tests.marketplace.factories import MerchantFactory, MerchantStaffFactory, UserFactory

SH = ZoneInfo("Asia/Shanghai")
AU, DE = "4101960001", "4101960002"
_seq = itertools.count(1)


def at(day: int, hour: int = 10, minute: int = 0, *, month: int = 3, year: int = 2026):
    return dt.datetime(year, month, day, hour, minute, tzinfo=SH)


def scope(start_day=1, end_day=31, *, month=3, year=2026, **kw) -> Scope:
    return Scope(at(start_day, 0, month=month, year=year),
                 at(end_day, 0, month=month, year=year), **kw)  # fmt: skip


def clearance(
    *,
    ebc=AU,
    created=None,
    value="100.00",
    state="released",
    reason="",
    counter="C-ZZ1",
    paid_after=None,
    released_after=None,
    declared=True,
    held_reason=None,
) -> OrderClearance:
    created = created or at(2)
    paid = created + dt.timedelta(seconds=30) if paid_after is None else created + paid_after
    row = OrderClearance.objects.create(
        order_no=f"BPT{next(_seq):08d}",
        ebc_code=ebc,
        state=state,
        reason=reason,
        delivery_mode="pickup",
        destination_code=counter,
        goods_value=Decimal(value),
        created_at=created,
        paid_at=paid,
        declared_at=paid + dt.timedelta(seconds=1) if declared else None,
        released_at=(paid + released_after) if released_after is not None else None,
    )
    if held_reason:
        ClearanceEvent.objects.create(
            clearance=row, from_state="declared", to_state="held", reason=held_reason,
            created_at=paid + dt.timedelta(seconds=5),
        )  # fmt: skip
    return row


def hit(rule_code: str, *, ebc=AU, created=None, order_no="") -> RiskHit:
    n = next(_seq)
    return RiskHit.objects.create(
        rule_code=rule_code,
        stage="ex_post",
        subject=order_no or f"s{n}",
        order_no=order_no,
        ebc_code=ebc,
        reason=f"r{n}",
        fingerprint=f"fp{n}",
        created_at=created or at(2),
    )


def merchants():
    """Two merchants known to marketplace and registered with customs."""
    au = MerchantFactory(code=AU, name="Aussie Nature Co.")
    de = MerchantFactory(code=DE, name="Rhein Dairy GmbH")
    Enterprise.objects.get_or_create(role="merchant", code=AU, defaults={"name": au.name})
    Enterprise.objects.get_or_create(role="merchant", code=DE, defaults={"name": de.name})
    return au, de


def platform_user(username="platform"):
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="Platform staff")[0])
    return user


def merchant_user(merchant, username):
    return MerchantStaffFactory(user=UserFactory(username=username, is_staff=True),
                                merchant=merchant).user  # fmt: skip
