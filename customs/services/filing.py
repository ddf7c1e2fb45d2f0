"""Sending pending declarations to the gateways, batched, without holding locks over HTTP.

A declaration is claimed with a short lease (a conditional UPDATE), sent, then confirmed in a
new transaction. If the process dies mid-send the lease lapses and the next push sends it
again; the gateway is idempotent by guid and order number, so a repeat does no harm.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import groupby

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from config import tracing
from customs import messages
from customs.errors import GatewayRejected, GatewayUnavailable, InvalidMessage
from customs.gateway import get_transport
from customs.models import Declaration, GatewayMessage
from customs.records import record_for
from customs.services.declarations import declaration_transition
from customs.services.receipts import receipts_apply, receipts_record
from customs.services.states import RANK, declaration_may_move

logger = logging.getLogger(__name__)
S = Declaration.State
# Order, payment and waybill go before the lists that depend on them.
KIND_ORDER = [
    "order", "waybill", "payment", "inventory", "cancel", "return", "waybill_status"
]  # fmt: skip


@dataclass
class FilingReport:
    sent: int = 0
    rejected: int = 0
    failed: int = 0
    messages: int = 0
    errors: list[str] = field(default_factory=list)


def _lease_seconds() -> float:
    default = 2 * (settings.CUSTOMS_CONNECT_TIMEOUT + settings.CUSTOMS_READ_TIMEOUT) + 10
    return settings.CUSTOMS_LEASE_SECONDS or default


def declarations_due():
    now = timezone.now()
    return Declaration.objects.filter(state=S.PENDING).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    )


def _claim(limit: int) -> list[Declaration]:
    """Lease what is due: two statements (rows another pusher is claiming are skipped)."""
    token = secrets.token_hex(8)
    lease_until = timezone.now() + timedelta(seconds=_lease_seconds())
    with transaction.atomic():
        claimed = list(
            declarations_due()
            .select_for_update(skip_locked=True)
            .order_by("created_at", "id")[:limit]
        )
        if not claimed:
            return []
        Declaration.objects.filter(pk__in=[d.pk for d in claimed]).update(
            lease_token=token, lease_until=lease_until
        )
    for decl in claimed:
        decl.lease_token, decl.lease_until = token, lease_until
    claimed.sort(
        key=lambda d: (KIND_ORDER.index(d.kind), d.authority, sender_of(d), d.created_at, d.id)
    )
    return claimed


def declarations_file(*, max_batches: int = 20) -> FilingReport:
    """Push what is due, batch by batch. Raises GatewayUnavailable after trying every batch if
    any batch hit a transient failure, so the task retries with backoff."""
    size = settings.CUSTOMS_BATCH_SIZE
    report = FilingReport()
    claimed = _claim(size * max_batches)
    transient: list[str] = []
    for (kind, authority, _sender), group in groupby(
        claimed, key=lambda d: (d.kind, d.authority, sender_of(d))
    ):
        group = list(group)
        for start in range(0, len(group), size):
            batch = group[start : start + size]
            try:
                _send_batch(batch, kind=kind, authority=authority, report=report)
            except GatewayUnavailable as exc:
                transient.append(str(exc))
                _release_lease(batch, str(exc))
                report.failed += len(batch)
    if transient:
        report.errors = transient
        raise GatewayUnavailable("; ".join(sorted(set(transient)))[:480])
    return report


def _release_lease(batch: list[Declaration], error: str) -> None:
    Declaration.objects.filter(pk__in=[d.pk for d in batch], state=S.PENDING).update(
        lease_until=None, lease_token="", last_error=error[:500], attempts=F("attempts") + 1
    )


def sender_of(decl: Declaration) -> tuple[str, str]:
    """Who files it: the party named in its snapshot (a courier files its own waybills),
    else the platform. One message has one sender, so batches split by it."""
    code = (decl.payload or {}).get("sender_code") or ""
    if not code:
        return settings.CUSTOMS_SENDER_CODE, "Bondport"
    return code, decl.payload.get("sender_name") or code


def render_batch(batch, *, message_type: str, guid: str) -> tuple[bytes, bytes]:
    """The message as sent (validated against its XSD) and as kept (resident IDs masked);
    raises InvalidMessage. The batch shares one sender (sender_of)."""
    sender_code, sender_name = sender_of(batch[0])
    common = {
        "message_type": message_type,
        "guid": guid,
        "sender_code": sender_code,
        "sender_name": sender_name,
    }
    xml = messages.render(records=[record_for(d) for d in batch], **common)
    messages.validate(xml)
    masked = messages.render(records=[record_for(d, masked=True) for d in batch], **common)
    return xml, masked


def _send_batch(batch, *, kind: str, authority: str, report: FilingReport) -> None:
    message_type = Declaration.MESSAGE_TYPES[kind]
    message = GatewayMessage(message_type=message_type, authority=authority)
    try:
        xml, masked = render_batch(batch, message_type=message_type, guid=message.guid)
    except InvalidMessage as exc:
        _reject(batch, f"not valid before sending: {exc.message}")
        report.rejected += len(batch)
        return
    message.xml = masked.decode()
    message.record_count = len(batch)
    # Tracing on: the filing's context, before the call (a receipt may be pushed before we
    # confirm), so the receipts join this trace; off, the UPDATE is as it always was.
    traced = {"trace_context": context} if (context := tracing.context_to_store()) else {}
    with transaction.atomic():  # one commit for the message and its link (issue #19)
        message.save()
        Declaration.objects.filter(pk__in=[d.pk for d in batch]).update(message=message, **traced)
    try:
        result = get_transport().send(
            authority=authority,
            message_guid=message.guid,
            xml=xml,
            order_nos=[d.order_no for d in batch],
        )
    except GatewayRejected as exc:
        GatewayMessage.objects.filter(pk=message.pk).update(
            error=exc.message[:500], http_status=exc.extra.get("http_status")
        )
        _reject(batch, exc.message)
        report.rejected += len(batch)
        return
    except GatewayUnavailable as exc:
        GatewayMessage.objects.filter(pk=message.pk).update(error=str(exc)[:500])
        raise
    with transaction.atomic():  # the answer and the batch marked sent: one commit
        GatewayMessage.objects.filter(pk=message.pk).update(
            http_status=result.http_status, response=str(result.body)[:4000]
        )
        _confirm_sent(batch)
    _record_answers(batch, authority=authority, body=result.body)
    report.messages += 1
    report.sent += len(batch)


# The states a declaration may move to SENT from (declaration_may_move): pending, blocked.
TO_SENT = [state for state in RANK if declaration_may_move(state, S.SENT)]


def _confirm_sent(batch) -> None:
    """The whole batch in one conditional UPDATE. Moving to SENT needs no re-derivation of the
    clearance: a pending declaration counts as a sent one there, and a blocked one has already
    rejected its order for good."""
    now = timezone.now()
    Declaration.objects.filter(pk__in=[d.pk for d in batch]).update(
        sent_at=Coalesce("sent_at", Value(now)),
        attempts=F("attempts") + 1,
        lease_until=None,
        lease_token="",
        last_error="",
        state=Case(When(state__in=TO_SENT, then=Value(S.SENT)), default=F("state")),
        state_changed_at=Case(
            When(state__in=TO_SENT, then=Value(now)), default=F("state_changed_at")
        ),
    )


def _record_answers(batch, *, authority: str, body: dict) -> None:
    """The synchronous answer per record (2 declaring, or an immediate refusal) is a receipt."""
    rows = [
        {**row, "authority": authority, "guid": f"resp-{row['declGuid']}-{row['returnStatus']}"}
        for row in body.get("records", [])
        if row.get("declGuid")
    ]
    sent = {d.guid: d.pk for d in batch}
    with transaction.atomic():  # one commit for the lookup and the insert
        ids = receipts_record(receipts=rows, source="response", sent=sent)
    receipts_apply(receipt_ids=ids)


def _reject(batch, reason: str) -> None:
    with transaction.atomic():
        for decl in (
            Declaration.objects.select_for_update()
            .filter(pk__in=[d.pk for d in batch])
            .order_by("pk")
        ):
            decl.lease_until, decl.lease_token, decl.last_error = None, "", reason[:500]
            decl.save(update_fields=["lease_until", "lease_token", "last_error"])
            declaration_transition(declaration=decl, to=S.REJECTED, info=reason)
