"""Through the exchange folders against the E-Port stand-in as a real process: a paid order
to release by signed files; a bad signature refused with CEB900; customs' real-time data
request answered with the order's original data, signed."""

import shutil
import time
from urllib.parse import urlencode

import pytest
import requests

from customs import realtime, services, sm2
from customs.models import Declaration, ExchangeFile, RealtimeQuery, Receipt
from customs.services.exchange import eport_inbox_process
from customs.services.realtime import realtime_data_upload
from customs.signer import SoftSigner
from tests.customs.factories import order_filing, payment_filing, tenpay_record, waybill_filing
from tests.customs.support import EPortStandInProcess, drive_files

pytestmark = pytest.mark.django_db
PLATFORM_KEY = sm2.generate_private_key()
STANDIN_KEY = sm2.generate_private_key()
CERT_NO = "CERT-BONDPORT-9"
QUERY_URL = "/api/v1/customs/realtime-query"


@pytest.fixture(scope="module")
def standin_process(tmp_path_factory):
    process = EPortStandInProcess(
        tmp_path_factory.mktemp("eport"), platform_key=PLATFORM_KEY, standin_key=STANDIN_KEY,
        cert_no=CERT_NO,
    ).start()  # fmt: skip
    yield process
    process.stop()


@pytest.fixture
def standin(standin_process, settings):
    settings.CUSTOMS_TRANSPORT = "eport"
    settings.CUSTOMS_SIGNER = "soft"
    settings.CUSTOMS_SM2_PRIVATE_KEY = PLATFORM_KEY
    settings.CUSTOMS_SIGNER_CERT_NO = CERT_NO
    settings.CUSTOMS_EPORT_AUTHORITY_PUBLIC_KEY = sm2.public_key_of(STANDIN_KEY)
    settings.CUSTOMS_EPORT_SETTLE_SECONDS = 0
    for name in ("outbox", "inbox", "archive", "quarantine"):
        setattr(settings, f"CUSTOMS_EPORT_{name.upper()}", str(standin_process.folder(name)))
    settings.CUSTOMS_REALTIME_UPLOAD_URL = (
        f"{standin_process.base}/ceb2grab/grab/realTimeDataUpload"
    )
    return standin_process


def _paid(zone):
    order = order_filing(zone)
    services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
    payment = payment_filing(order)
    services.declaration_create_payment(payment=payment)
    return order, payment


def test_a_paid_order_is_released_through_signed_files(zone, standin):
    order, _payment = _paid(zone)

    view = drive_files(order.order_no)

    assert view.state == "released"
    assert view.goods_released and view.inventory_list_no.startswith("4601")
    assert {(d.message_type, d.state) for d in view.declarations} == {
        ("CEB311", "accepted"), ("CEB511", "accepted"), ("CEB411", "accepted"),
        ("CEB621", "released"),
    }  # fmt: skip
    receipts = Receipt.objects.filter(order_no=order.order_no)
    assert set(receipts.values_list("source", flat=True)) == {"eport"}
    assert receipts.filter(return_status=800, outcome="applied").count() == 1
    taken = ExchangeFile.objects.filter(state="applied")
    assert {"CEB312", "CEB412", "CEB512", "CEB622"} <= set(
        taken.values_list("message_type", flat=True)
    )
    sent = {p.name.split("_")[0] for p in standin.folder("sent").iterdir()}
    assert {"CEB311Message", "CEB411Message", "CEB511Message", "CEB621Message"} <= sent


def test_a_message_signed_with_the_wrong_key_is_refused_with_ceb900(zone, standin, settings):
    settings.CUSTOMS_SM2_PRIVATE_KEY = sm2.generate_private_key()  # not the registered key
    order, _payment = _paid(zone)
    services.declarations_file()
    decl = Declaration.objects.get(order_no=order.order_no, kind="order")

    for _ in range(100):
        eport_inbox_process()
        decl.refresh_from_db()
        if decl.last_error:
            break
        time.sleep(0.1)

    assert decl.last_error.startswith("-1: format error (CEB900): bad signature")
    assert decl.state == "sent"
    assert ExchangeFile.objects.filter(message_type="CEB900", state="applied").exists()
    assert not Receipt.objects.filter(decl_guid=decl.guid, return_status__gte=2).exists()


def _ask(standin, order_no: str) -> dict:
    """The stand-in as customs: a signed query (sent nowhere: the test posts it itself)."""
    answer = requests.post(
        f"{standin.base}/standin/query",
        json={"orderNo": order_no, "platformUrl": "http://127.0.0.1:9/"}, timeout=10,
    ).json()  # fmt: skip
    return answer["openReq"]


def _post_query(client, open_req: dict):
    return client.post(
        QUERY_URL, data=urlencode({"openReq": realtime.compact(open_req)}),
        content_type="application/x-www-form-urlencoded",
    )  # fmt: skip


def test_realtime_query_is_answered_with_the_original_payment_data_signed(zone, standin, client):
    order, payment = _paid(zone)
    open_req = _ask(standin, order.order_no)

    response = _post_query(client, open_req)

    assert response.status_code == 200 and response.json()["code"] == "10000"
    query = RealtimeQuery.objects.get(session_id=open_req["sessionID"])
    assert (query.order_no, query.state) == (order.order_no, "received")
    assert realtime_data_upload(query_id=query.pk) == "uploaded"
    seen = requests.get(
        f"{standin.base}/standin/realtime", params={"sessionID": query.session_id}, timeout=10
    ).json()
    assert seen["verified"] is True and seen["code"] == "10000"
    head = seen["uploaded"]["payExchangeInfoHead"]
    assert head["payTransactionId"] == payment.pay_transaction_id
    assert f"{head['totalAmount']:.2f}" == f"{payment.amount_paid:.2f}"
    assert seen["uploaded"]["payExchangeInfoLists"][0]["orderNo"] == order.order_no
    assert seen["uploaded"]["certNo"] == CERT_NO
    query.refresh_from_db()
    assert query.state == "uploaded" and '"code": "10000"' in query.answer
    assert query.uploaded == realtime.compact(seen["uploaded"])
    assert realtime_data_upload(query_id=query.pk) == "uploaded"  # once: not uploaded again


def test_realtime_query_for_an_unknown_order_is_refused_and_recorded(zone, standin, client):
    response = _post_query(client, _ask(standin, "NO-SUCH-ORDER"))
    assert response.status_code == 200 and response.json()["code"] == "20002"
    assert RealtimeQuery.objects.get(order_no="NO-SUCH-ORDER").state == "unknown_order"


def test_realtime_query_with_a_bad_signature_is_refused(zone, standin, client):
    order, _payment = _paid(zone)
    forged = realtime.sign_query(
        {"orderNo": order.order_no, "sessionID": "S-forged", "serviceTime": "1"},
        SoftSigner(private_key=sm2.generate_private_key(), cert_no="X"),
    )
    response = _post_query(client, forged)
    assert response.status_code == 403 and response.json()["code"] == "20001"
    tampered = {**_ask(standin, order.order_no), "orderNo": "ANOTHER-ORDER"}
    assert _post_query(client, tampered).json()["code"] == "20001"
    assert not RealtimeQuery.objects.exists()


def test_an_upload_signed_with_another_key_is_refused_by_customs(zone, standin, client, settings):
    order, _payment = _paid(zone)
    open_req = _ask(standin, order.order_no)
    assert _post_query(client, open_req).json()["code"] == "10000"
    settings.CUSTOMS_SM2_PRIVATE_KEY = sm2.generate_private_key()
    query = RealtimeQuery.objects.get(session_id=open_req["sessionID"])
    assert realtime_data_upload(query_id=query.pk) == "refused"
    query.refresh_from_db()
    assert query.last_error == "signature does not verify"


def test_a_resent_message_is_answered_with_its_current_status(zone, standin):
    order, _payment = _paid(zone)
    drive_files(order.order_no)
    decl = Declaration.objects.get(order_no=order.order_no, kind="order")
    before = Receipt.objects.filter(decl_guid=decl.guid, return_status=120).count()
    sent = next(p for p in standin.folder("sent").iterdir() if decl.message.guid in p.name)
    shutil.copy(sent, standin.folder("outbox") / f"again-{sent.name}")  # the same message again

    for _ in range(100):
        eport_inbox_process()
        if Receipt.objects.filter(decl_guid=decl.guid, return_status=120).count() > before:
            break
        time.sleep(0.1)

    again = Receipt.objects.filter(decl_guid=decl.guid, return_status=120).latest("id")
    assert Receipt.objects.filter(decl_guid=decl.guid, return_status=120).count() == before + 1
    assert (again.source, again.outcome) == ("eport", "stale")
    decl.refresh_from_db()
    assert decl.state == "accepted"


def test_the_payment_companys_ceb411_filed_on_its_own_line_clears_the_list(zone, standin, settings):
    """With a real payment adapter the payment company files the CEB411, not through our
    exchange folders but on its own line to the authority behind them (the stand-ins'
    CustomsFiler, the sandbox's HTTP contract): the three-document check sees it."""
    from marketplace.standins.customs_filing import CustomsFiler

    order = order_filing(zone)
    services.declarations_create_for_order(order=order, waybill=waybill_filing(order))
    payment = payment_filing(order, filed_by="wechatpay", filed_answer="SUBMITTED")
    services.declaration_create_payment(payment=payment)
    filer = CustomsFiler(
        customs_url=f"{standin.base}/customs", secret=settings.CUSTOMS_GATEWAY_SECRET,
        retry_seconds=0.2,
    )  # fmt: skip
    filer.submit(tenpay_record(order, payment))

    view = drive_files(order.order_no)

    assert view.state == "released", view
    [filing] = filer.filed(order.order_no)
    assert filing["state"] == "filed" and filing["attempts"] == 1
    import json
    import sqlite3

    db = sqlite3.connect(f"file:{standin.root / 'standin.sqlite3'}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT data, status FROM records WHERE type='CEB411' AND order_no=?",
            (order.order_no,),
        ).fetchall()
    finally:
        db.close()
    [(data, status)] = rows
    head = json.loads(data)["head"]
    assert status == 120 and head["payCode"] == "4403169D3W" != order.pay_code
    assert head["amountPaid"] == f"{order.actural_paid:.2f}"
    assert head["payTransactionId"] == payment.pay_transaction_id
