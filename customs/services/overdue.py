"""Declarations the authority accepted but never answered again (DOMAIN.md: customs can lose
or delay answers; an accepted "2" with no further receipt must be asked again or re-sent).

A declaration waiting on the authority with no new receipt for CUSTOMS_RECEIPT_OVERDUE_SECONDS
is asked about (status query). The answer is a receipt like any pushed one, applied through the
receipts service (a state never moves backwards, a repeat changes nothing). One the authority
does not know is re-sent under its own guid (idempotent at the authority); a "duplicate business
key" answer means the authority has it, so the next check asks again: never a rejection. After
CUSTOMS_QUERY_MAX_ATTEMPTS checks without progress the declaration is flagged for staff, with
the reason. Checks are spaced by the same overdue time; no lock is held over an HTTP call.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from itertools import groupby
from operator import attrgetter

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from customs.errors import GatewayRejected, GatewayUnavailable, InvalidMessage
from customs.gateway import get_transport
from customs.models import Declaration, GatewayMessage
from customs.services.filing import KIND_ORDER, render_batch, sender_of
from customs.services.receipts import BATCH, receipts_apply, receipts_record
from customs.services.states import already_held

logger = logging.getLogger(__name__)
S = Declaration.State
CHUNK = 100  # records per status query or re-sent message


def _waiting() -> Q:
    """States in which the authority still owes a receipt without anyone having to act: sent
    (2) for every kind; accepted (120) for the messages that go further (lists, cancellations,
    returns); review concluded (399) for lists. Manual review and inspection wait on officers
    (the inspection queue), and order, payment and waybill end at 120."""
    return (
        Q(state=S.SENT)
        | Q(kind__in=["inventory", "cancel", "return"], state=S.ACCEPTED)
        | Q(kind="inventory", state=S.CONCLUDED)
    )


def declarations_overdue(*, now: datetime) -> QuerySet[Declaration]:
    """Waiting, no move for the overdue time, not checked within it, and not handed to staff
    (unless it moved since: then it is overdue afresh)."""
    before = now - timedelta(seconds=settings.CUSTOMS_RECEIPT_OVERDUE_SECONDS)
    return (
        Declaration.objects.filter(_waiting(), state_changed_at__lt=before)
        .filter(Q(needs_staff_at__isnull=True) | Q(state_changed_at__gt=F("needs_staff_at")))
        .filter(Q(overdue_checked_at__isnull=True) | Q(overdue_checked_at__lt=before))
    )


def declarations_needing_staff() -> QuerySet[Declaration]:
    """Flagged by the overdue check and not moved since (a late receipt takes them off)."""
    return Declaration.objects.filter(
        needs_staff_at__isnull=False, state_changed_at__lte=F("needs_staff_at")
    )


def declarations_being_asked() -> QuerySet[Declaration]:
    """Checked at least once without progress since, and not (yet) handed to staff."""
    return Declaration.objects.filter(
        _waiting(),
        overdue_checks__gt=0,
        needs_staff_at__isnull=True,
        state_changed_at__lte=F("overdue_checked_at"),
    )


def declarations_overdue_check(*, now: datetime, limit: int = 500) -> dict:
    """Ask about what is overdue, per authority in chunks; returns counts for the sweep."""
    report = {"overdue": 0, "moved": 0, "resent": 0, "needs_staff": 0}
    overdue = declarations_overdue(now=now).order_by("authority", "state_changed_at", "id")
    decls = list(overdue[:limit])
    for authority, group in groupby(decls, key=attrgetter("authority")):
        group = list(group)
        for start in range(0, len(group), CHUNK):
            _check(group[start : start + CHUNK], authority=authority, now=now, report=report)
    return report


def _check(decls: list[Declaration], *, authority: str, now: datetime, report: dict) -> None:
    report["overdue"] += len(decls)
    notes: dict[int, str] = {}
    queried: set[int] = set()
    asked = [{"guid": d.guid, "messageType": d.message_type, "orderNo": d.order_no} for d in decls]
    try:
        answer = get_transport().query_status(authority=authority, records=asked)
        queried = {d.pk for d in decls}
    except GatewayRejected as exc:  # no status query there: re-sending is the way to ask
        answer = {"receipts": [], "unknown": [d.guid for d in decls]}
        notes = {d.pk: f"no status query ({exc.message})" for d in decls}
    except GatewayUnavailable as exc:
        _checked(decls, notes={d.pk: f"{authority} unreachable: {exc}" for d in decls},
                 queried=set(), resent=set(), now=now, report=report)  # fmt: skip
        return
    rows = [{**row, "authority": authority} for row in answer.get("receipts", [])]
    _apply(rows, source="query")
    for row in rows:
        pk = next((d.pk for d in decls if d.guid == row.get("declGuid")), None)
        if pk is not None:
            notes[pk] = f"status query: {row.get('returnStatus')} {row.get('returnInfo', '')}"
    unknown = set(answer.get("unknown", []))
    resent = _resend([d for d in decls if d.guid in unknown], authority=authority, notes=notes)
    _checked(decls, notes=notes, queried=queried, resent=resent, now=now, report=report)


def _apply(rows: list[dict], *, source: str) -> None:
    ids = receipts_record(receipts=rows, source=source)
    for start in range(0, len(ids), BATCH):
        receipts_apply(receipt_ids=ids[start : start + BATCH])


def _resend(decls: list[Declaration], *, authority: str, notes: dict[int, str]) -> set[int]:
    """The same records (same guids) in a new message; their answers are receipts. Nothing
    here rejects a declaration: a refusal of a re-send goes to the note (and so to staff)."""
    resent: set[int] = set()
    decls = sorted(
        decls, key=lambda d: (KIND_ORDER.index(d.kind), sender_of(d), d.created_at, d.id)
    )
    for (kind, _sender), group in groupby(decls, key=lambda d: (d.kind, sender_of(d))):
        group = list(group)
        message_type = Declaration.MESSAGE_TYPES[kind]
        message = GatewayMessage(message_type=message_type, authority=authority)
        try:
            xml, masked = render_batch(group, message_type=message_type, guid=message.guid)
        except InvalidMessage as exc:
            notes.update({d.pk: f"unknown there, not re-sent: {exc.message}" for d in group})
            continue
        message.xml, message.record_count = masked.decode(), len(group)
        message.save()
        try:
            result = get_transport().send(
                authority=authority,
                message_guid=message.guid,
                xml=xml,
                order_nos=[d.order_no for d in group],
            )
        except (GatewayRejected, GatewayUnavailable) as exc:
            error = getattr(exc, "message", "") or str(exc)
            GatewayMessage.objects.filter(pk=message.pk).update(error=error[:500])
            notes.update({d.pk: f"unknown there, re-send failed: {error}" for d in group})
            continue
        GatewayMessage.objects.filter(pk=message.pk).update(
            http_status=result.http_status, response=str(result.body)[:4000]
        )
        by_guid = {d.guid: d for d in group}
        rows = []
        for row in result.body.get("records", []):
            decl = by_guid.get(row.get("declGuid"))
            if decl is None:
                continue
            status, info = int(row.get("returnStatus", 0)), str(row.get("returnInfo") or "")
            rows.append({
                **row, "authority": authority,
                "guid": f"resend-{decl.guid}-{status}-{decl.resends + 1}",
            })  # fmt: skip
            held = " (already held: asked again next time)" if already_held(status, info) else ""
            notes[decl.pk] = f"unknown there, re-sent: {status} {info}{held}"
        _apply(rows, source="response")
        resent |= {d.pk for d in group}
    return resent


def _checked(
    decls: list[Declaration], *, notes: dict[int, str], queried: set[int], resent: set[int],
    now: datetime, report: dict,
) -> None:  # fmt: skip
    """Count the check on each declaration; progress resets the count, the limit flags it."""
    current = dict(
        Declaration.objects.filter(pk__in=[d.pk for d in decls]).values_list("pk", "state")
    )
    limit = settings.CUSTOMS_QUERY_MAX_ATTEMPTS
    for decl in decls:
        note = notes.get(decl.pk, "no answer")[:500]
        fields = {
            "status_queries": F("status_queries") + int(decl.pk in queried),
            "resends": F("resends") + int(decl.pk in resent),
            "overdue_checked_at": now,
            "overdue_note": note,
        }
        if current.get(decl.pk, decl.state) != decl.state:
            report["moved"] += 1
            fields |= {"overdue_checks": 0, "needs_staff_at": None, "needs_staff_reason": ""}
        else:
            checked_in_this_state = (
                decl.overdue_checked_at is not None
                and decl.overdue_checked_at >= decl.state_changed_at
            )
            checks = decl.overdue_checks + 1 if checked_in_this_state else 1
            fields["overdue_checks"] = checks
            if checks >= limit:
                since = f"{decl.state_changed_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
                reason = (
                    f"No receipt from {authority_name(decl.authority)} since {since} "
                    f"({decl.state}) after {checks} checks; last: {note}"
                )
                fields |= {"needs_staff_at": now, "needs_staff_reason": reason[:500]}
                report["needs_staff"] += 1
                logger.warning("declaration %s %s needs staff: %s", decl.pk, decl.order_no, reason)
        report["resent"] += int(decl.pk in resent)
        Declaration.objects.filter(pk=decl.pk).update(**fields)


def authority_name(authority: str) -> str:
    return "CIQ" if authority == "ciq" else "customs"


def declarations_requery(*, declaration_ids: list[int]) -> int:
    """Staff hand flagged declarations back to the overdue check (it asks at the next sweep)."""
    return (
        declarations_needing_staff()
        .filter(pk__in=declaration_ids)
        .update(
            needs_staff_at=None,
            needs_staff_reason="",
            overdue_checks=0,
            overdue_checked_at=None,
            overdue_note=f"handed back by staff at {timezone.now():%Y-%m-%d %H:%M}",
        )
    )
