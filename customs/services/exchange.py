"""The E-Port client's inbox: receipt files read, verified, applied once, archived.

Each ready file (final name, older than CUSTOMS_EPORT_SETTLE_SECONDS: the client may still be
writing a younger one) is read, its DXP envelope opened, the authority's SM2 signature checked
and the receipt parsed. Its receipts are recorded (by guid, so a receipt arriving twice, in
the same file again or in another, is recorded once) in the transaction that records the
file, then applied through the receipts service as pushed ones are, and the file is moved to
the archive. A file that cannot be read, opened, verified or parsed is moved to the quarantine
folder beside a "<name>.reason" file and listed in admin (ExchangeFile), never applied.

A crash between recording and archiving leaves the file in the inbox: the next run finds its
content recorded (same SHA-256 and name) and only archives it; receipts recorded but not yet
applied are applied by the sweep (receipts_apply_pending).
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from customs import exchange, xmlsig
from customs.eport import EPortTransport
from customs.models import Declaration, ExchangeFile
from customs.services.receipts import BATCH, receipts_apply, receipts_record

logger = logging.getLogger(__name__)
F = ExchangeFile.State
LOCK = "customs:eport-inbox"


@dataclass
class InboxReport:
    applied: int = 0
    duplicates: int = 0
    quarantined: int = 0
    receipts: int = 0
    reasons: list[str] = field(default_factory=list)


def eport_inbox_process(*, limit: int = 500) -> InboxReport:
    """Take what is ready in the inbox (one run at a time across processes)."""
    report = InboxReport()
    if not cache.add(LOCK, 1, timeout=60):
        return report
    try:
        files = exchange.ready_files(
            settings.CUSTOMS_EPORT_INBOX,
            settle_seconds=settings.CUSTOMS_EPORT_SETTLE_SECONDS,
            now=time.time(),
        )
        for path in files[:limit]:
            _take(path, report)
    finally:
        cache.delete(LOCK)
    return report


def _take(path: Path, report: InboxReport) -> None:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return  # taken meanwhile
    except OSError as exc:
        _quarantine(path, b"", f"unreadable: {exc}", report)
        return
    digest = hashlib.sha256(raw).hexdigest()
    if (
        ExchangeFile.objects.filter(sha256=digest, name=path.name)
        .exclude(state=F.QUARANTINED)
        .exists()
    ):  # recorded before a crash kept it here: only the archiving is left
        exchange.move(path, settings.CUSTOMS_EPORT_ARCHIVE)
        return
    try:
        envelope = exchange.unwrap(raw)
        verified = EPortTransport().verify_file(envelope["xml"])
        message_type, message_guid, returns = exchange.parse_receipt(verified.xml)
    except exchange.ExchangeError as exc:
        _quarantine(path, raw, str(exc), report)
        return
    except xmlsig.SignatureInvalid as exc:
        _quarantine(path, raw, f"bad signature: {exc.reason}", report)
        return
    authority = "ciq" if envelope["sender"] == settings.CUSTOMS_EPORT_CIQ_RECEIVER_ID else "customs"
    rows = _rows(message_type, message_guid, returns, authority)
    with transaction.atomic():
        new_ids = receipts_record(receipts=rows, source="eport") if rows else []
        state, reason = F.APPLIED, ""
        if not rows:  # a CEB900 for a message we hold no records of
            reason = "it names no declaration of ours"
        elif not new_ids:
            state, reason = F.DUPLICATE, "its receipts were recorded before"
        row = ExchangeFile.objects.create(
            name=path.name, sha256=digest, state=state, message_type=message_type,
            message_guid=message_guid[:64], receipts=len(new_ids), size=len(raw), reason=reason,
        )  # fmt: skip
    for start in range(0, len(new_ids), BATCH):
        receipts_apply(receipt_ids=new_ids[start : start + BATCH])
    kept = exchange.move(path, settings.CUSTOMS_EPORT_ARCHIVE)
    ExchangeFile.objects.filter(pk=row.pk).update(stored_at=str(kept))
    report.receipts += len(new_ids)
    if state == F.APPLIED:
        report.applied += 1
    else:
        report.duplicates += 1


def exchange_file_requeue(*, exchange_file: ExchangeFile) -> bool:
    """Staff put a quarantined file back into the inbox (once its cause is fixed, e.g. the
    authority's key configured): it is read again like a new file; the quarantine row stays
    as the record of what happened."""
    kept = Path(exchange_file.stored_at)
    if exchange_file.state != F.QUARANTINED or not kept.is_file():
        return False
    exchange.move(kept, settings.CUSTOMS_EPORT_INBOX)
    kept.with_name(f"{kept.name}.reason").unlink(missing_ok=True)
    ExchangeFile.objects.filter(pk=exchange_file.pk).update(
        stored_at="", reason=f"{exchange_file.reason} (put back into the inbox)"[:500]
    )
    return True


def _rows(message_type: str, message_guid: str, returns: list[dict], authority: str) -> list:
    now = timezone.now()
    rows = []
    for index, item in enumerate(returns):
        when = exchange.parse_time17(item.get("returnTime", "")) or now
        common = {
            "authority": authority,
            "returnStatus": int(item["returnStatus"]),
            "returnInfo": item.get("returnInfo", ""),
            "returnTime": when,
        }
        if message_type == exchange.FORMAT_ERROR:
            # The exchange refused a whole message: a processing error on each of its records
            # (kept as the declaration's last error; the overdue check re-sends it).
            refused = Declaration.objects.filter(message__guid=item.get("messageGuid", ""))
            for decl in refused.only("pk", "guid", "order_no"):
                info = f"format error (CEB900): {item.get('returnInfo', '')}"
                rows.append({**common, "guid": f"ceb900-{message_guid}-{decl.pk}"[:64],
                             "declGuid": decl.guid, "orderNo": decl.order_no,
                             "returnInfo": info, "invtNo": ""})  # fmt: skip
            continue
        rows.append({
            **common,
            "guid": (f"{message_guid}-{index}" if index else message_guid)[:64],
            "declGuid": item["guid"],
            "orderNo": item.get("orderNo", ""),
            "invtNo": item.get("invtNo", ""),
        })  # fmt: skip
    return rows


def _quarantine(path: Path, raw: bytes, reason: str, report: InboxReport) -> None:
    logger.warning("E-Port inbox file %s quarantined: %s", path.name, reason)
    try:
        kept = exchange.move(path, settings.CUSTOMS_EPORT_QUARANTINE)
    except FileNotFoundError:
        return
    kept.with_name(f"{kept.name}.reason").write_text(reason + "\n", encoding="utf-8")
    ExchangeFile.objects.create(
        name=path.name, sha256=hashlib.sha256(raw).hexdigest(), state=F.QUARANTINED,
        reason=reason[:500], stored_at=str(kept), size=len(raw),
    )  # fmt: skip
    report.quarantined += 1
    report.reasons.append(reason)
