"""The E-Port exchange folders: signed messages out (atomic, named, enveloped), receipt files
in (applied once like pushed ones, archived), bad files quarantined with a reason."""

import shutil
import uuid

import pytest
from django.utils import timezone
from lxml import etree

from customs import exchange, services, sm2, xmlsig
from customs.models import Declaration, ExchangeFile, GatewayMessage, Receipt
from customs.services.exchange import eport_inbox_process
from customs.signer import SoftSigner
from tests.customs.factories import order_filing, payment_filing, waybill_filing

pytestmark = pytest.mark.django_db
PLATFORM_KEY = sm2.generate_private_key()
AUTHORITY_KEY = sm2.generate_private_key()


@pytest.fixture
def eport(settings, tmp_path):
    settings.CUSTOMS_TRANSPORT = "eport"
    settings.CUSTOMS_SIGNER = "soft"
    settings.CUSTOMS_SM2_PRIVATE_KEY = PLATFORM_KEY
    settings.CUSTOMS_SIGNER_CERT_NO = "CERT-PLATFORM"
    settings.CUSTOMS_EPORT_AUTHORITY_PUBLIC_KEY = sm2.public_key_of(AUTHORITY_KEY)
    settings.CUSTOMS_EPORT_SETTLE_SECONDS = 0
    for name in ("outbox", "inbox", "archive", "quarantine"):
        setattr(settings, f"CUSTOMS_EPORT_{name.upper()}", str(tmp_path / name))
    return tmp_path


def _filed(zone):
    order = order_filing(zone)
    services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
    services.declaration_create_payment(payment=payment_filing(order))
    return order


def receipt_file(folder, decl, status, *, key=AUTHORITY_KEY, guid=None, invt_no="",
                 message_type="CEB312", sender="DXPEDCCEB0000002", name=None) -> str:  # fmt: skip
    guid = guid or str(uuid.uuid4())
    xml = exchange.render_receipt(message_type=message_type, guid=guid, returns=[{
        "guid": decl.guid, "orderNo": decl.order_no, "returnStatus": status,
        "returnTime": timezone.now(), "returnInfo": "logical checks passed", "invtNo": invt_no,
    }])  # fmt: skip
    signed = xmlsig.sign_xml(xml, SoftSigner(private_key=key, cert_no="CUSTOMS-1"))
    raw = exchange.wrap(xml=signed, guid=guid, msg_type=f"{message_type}Message", sender=sender,
                        receiver="DXPENT0000000001", now=timezone.now())  # fmt: skip
    name = name or f"{message_type}Message_{sender}_{guid}.xml"
    exchange.write_atomic(folder, name, raw)
    return name


def test_filing_writes_signed_enveloped_files_to_the_outbox(eport, zone):
    order = _filed(zone)
    report = services.declarations_file()
    assert report.sent == 3 and report.messages == 3
    files = sorted(p.name for p in (eport / "outbox").iterdir())
    assert len(files) == 3 and not [n for n in files if n.startswith(".")]
    assert [n.split("_")[0] for n in files] == ["CEB311Message", "CEB411Message", "CEB511Message"]
    order_file = next(p for p in (eport / "outbox").iterdir() if p.name.startswith("CEB311"))
    envelope = exchange.unwrap(order_file.read_bytes())
    message = GatewayMessage.objects.get(message_type="CEB311")
    assert envelope["guid"] == message.guid and message.guid in order_file.name
    assert envelope["msg_type"] == "CEB311Message"
    assert envelope["receivers"] == ["DXPEDCCEB0000002"]
    public = sm2.public_key_of(PLATFORM_KEY)
    verified = xmlsig.verify_xml(envelope["xml"], {"CERT-PLATFORM": public}.get)
    root = etree.fromstring(verified.xml)
    ns = {"ceb": exchange.NS}
    assert root.findtext("ceb:Order/ceb:OrderHead/ceb:orderNo", namespaces=ns) == order.order_no
    states = set(
        Declaration.objects.filter(order_no=order.order_no).values_list("state", flat=True)
    )
    assert states == {"sent"}


def test_a_receipt_file_is_applied_like_a_push_and_archived(eport, zone):
    order = _filed(zone)
    services.declarations_file()
    decl = Declaration.objects.get(order_no=order.order_no, kind="order")
    name = receipt_file(eport / "inbox", decl, 120)
    report = eport_inbox_process()
    assert (report.applied, report.receipts, report.quarantined) == (1, 1, 0)
    decl.refresh_from_db()
    assert decl.state == "accepted"
    receipt = Receipt.objects.get(decl_guid=decl.guid, return_status=120)
    assert receipt.source == "eport" and receipt.outcome == "applied"
    assert (eport / "archive" / name).exists() and not list((eport / "inbox").iterdir())
    row = ExchangeFile.objects.get(name=name)
    assert (row.state, row.message_type, row.receipts) == ("applied", "CEB312", 1)


def test_a_duplicate_receipt_file_is_applied_once(eport, zone):
    order = _filed(zone)
    services.declarations_file()
    decl = Declaration.objects.get(order_no=order.order_no, kind="order")
    name = receipt_file(eport / "inbox", decl, 120, guid="R-dup")
    eport_inbox_process()
    # the client delivers the same receipt again, under another name
    shutil.copy(eport / "archive" / name, eport / "inbox" / f"again-{name}")
    report = eport_inbox_process()
    assert (report.applied, report.duplicates, report.receipts) == (0, 1, 0)
    assert Receipt.objects.filter(guid="R-dup").count() == 1
    assert ExchangeFile.objects.get(name=f"again-{name}").state == "duplicate"
    assert (eport / "archive" / f"again-{name}").exists()


def test_a_file_recorded_before_a_crash_is_only_archived(eport, zone):
    order = _filed(zone)
    services.declarations_file()
    decl = Declaration.objects.get(order_no=order.order_no, kind="order")
    name = receipt_file(eport / "inbox", decl, 120)
    eport_inbox_process()
    shutil.copy(eport / "archive" / name, eport / "inbox" / name)  # as if never moved
    report = eport_inbox_process()
    assert (report.applied, report.duplicates, report.quarantined) == (0, 0, 0)
    assert ExchangeFile.objects.filter(name=name).count() == 1
    assert not (eport / "inbox" / name).exists()


@pytest.mark.parametrize("damage", ["half-written", "badly signed", "tampered", "not dxp"])
def test_bad_files_are_quarantined_with_a_reason_and_never_applied(eport, zone, damage):
    order = _filed(zone)
    services.declarations_file()
    decl = Declaration.objects.get(order_no=order.order_no, kind="order")
    if damage == "badly signed":
        name = receipt_file(eport / "inbox", decl, 120, key=sm2.generate_private_key())
    else:
        name = receipt_file(eport / "inbox", decl, 120)
        path = eport / "inbox" / name
        raw = path.read_bytes()
        if damage == "half-written":
            raw = raw[: len(raw) // 2]
        elif damage == "tampered":
            envelope = exchange.unwrap(raw)
            altered = envelope["xml"].replace(b">120<", b">800<")
            raw = exchange.wrap(
                xml=altered, guid=envelope["guid"], msg_type="CEB312Message",
                sender=envelope["sender"], receiver="X", now=timezone.now(),
            )  # fmt: skip
        else:
            raw = b"<?xml version='1.0'?><other/>"
        path.write_bytes(raw)
    report = eport_inbox_process()
    assert report.quarantined == 1 and report.applied == 0
    reason = (eport / "quarantine" / f"{name}.reason").read_text()
    expected = {"half-written": "not well-formed", "badly signed": "does not verify",
                "tampered": "altered after signing", "not dxp": "not a DXP envelope"}  # fmt: skip
    assert expected[damage] in reason
    assert (eport / "quarantine" / name).exists()
    row = ExchangeFile.objects.get(name=name)
    assert row.state == "quarantined" and expected[damage] in row.reason
    assert not Receipt.objects.filter(decl_guid=decl.guid, return_status__gte=100).exists()
    decl.refresh_from_db()
    assert decl.state == "sent"


def test_files_still_being_written_are_left_alone(eport, zone, settings):
    settings.CUSTOMS_EPORT_SETTLE_SECONDS = 60
    order = _filed(zone)
    services.declarations_file()
    decl = Declaration.objects.get(order_no=order.order_no, kind="order")
    name = receipt_file(eport / "inbox", decl, 120)
    (eport / "inbox" / ".partial.xml.part").write_bytes(b"<half")
    report = eport_inbox_process()
    assert (report.applied, report.quarantined) == (0, 0)
    assert (eport / "inbox" / name).exists()


def test_a_format_error_receipt_marks_the_refused_messages_records(eport, zone):
    order = _filed(zone)
    services.declarations_file()
    message = GatewayMessage.objects.get(message_type="CEB311")
    decl = Declaration.objects.get(order_no=order.order_no, kind="order")
    guid = str(uuid.uuid4())
    xml = exchange.render_receipt(message_type="CEB900", guid=guid, returns=[{
        "guid": message.guid, "messageGuid": message.guid, "messageType": "CEB311",
        "returnStatus": -1, "returnTime": timezone.now(),
        "returnInfo": "signature does not verify",
    }])  # fmt: skip
    signed = xmlsig.sign_xml(xml, SoftSigner(private_key=AUTHORITY_KEY, cert_no="C"))
    raw = exchange.wrap(xml=signed, guid=guid, msg_type="CEB900Message",
                        sender="DXPEDCCEB0000002", receiver="X", now=timezone.now())  # fmt: skip
    exchange.write_atomic(eport / "inbox", f"CEB900Message_{guid}.xml", raw)
    assert eport_inbox_process().receipts == 1
    decl.refresh_from_db()
    assert decl.state == "sent"
    assert decl.last_error == "-1: format error (CEB900): signature does not verify"


def test_the_e_port_refuses_http_pushes(eport, client):
    response = client.post("/api/v1/customs/receipts", data=b"{}", content_type="application/json")
    assert response.status_code in (401, 403)


def test_staff_put_a_quarantined_file_back_once_its_cause_is_fixed(eport, zone, settings,
                                                                   admin_client):  # fmt: skip
    order = _filed(zone)
    services.declarations_file()
    decl = Declaration.objects.get(order_no=order.order_no, kind="order")
    new_key = sm2.generate_private_key()  # the authority renewed its key; we do not know it yet
    name = receipt_file(eport / "inbox", decl, 120, key=new_key)
    assert eport_inbox_process().quarantined == 1
    row = ExchangeFile.objects.get(name=name, state="quarantined")
    settings.CUSTOMS_EPORT_AUTHORITY_PUBLIC_KEY = sm2.public_key_of(new_key)

    response = admin_client.post(
        "/admin/customs/exchangefile/",
        {"action": "requeue", "_selected_action": [row.pk]},
    )

    assert response.status_code == 302
    assert (eport / "inbox" / name).exists() and not (eport / "quarantine" / name).exists()
    assert not (eport / "quarantine" / f"{name}.reason").exists()
    assert eport_inbox_process().applied == 1
    decl.refresh_from_db()
    assert decl.state == "accepted"
    assert ExchangeFile.objects.get(pk=row.pk).reason.endswith("(put back into the inbox)")
    assert ExchangeFile.objects.get(name=name, state="applied")
