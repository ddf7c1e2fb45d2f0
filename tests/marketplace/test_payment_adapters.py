"""WeChat Pay and Alipay adapters (their real SDKs) against local stand-ins that check our
request signatures with the merchant's public key and sign their answers and notifications
with their own test keys: charges, notifications (good, tampered, wrong key, replayed,
duplicate), query, refund to the fen, and the payment company's customs declaration (what it
received, what we recorded, and customs filing no CEB411 of its own)."""

import re
import time
from decimal import Decimal

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from customs.models import Declaration
from marketplace.errors import PayerNotBuyer, PaymentProviderUnavailable
from marketplace.models import Payment, Refund
from marketplace.payment_keys import new_rsa_pair
from marketplace.services import payment_start
from marketplace.services.payments import payment_customs_declare, payment_refund, refund_execute
from marketplace.standins import StandInServer
from marketplace.standins.alipay import AlipayStandIn
from marketplace.standins.wechatpay import WeChatPayStandIn
from tests.marketplace.support import headers_for, place

pytestmark = pytest.mark.django_db

APIV3_KEY = "0123456789abcdef0123456789abcdef"
PUBLIC_KEY_ID = "PUB_KEY_ID_0114232806052025031300000000"


@pytest.fixture(scope="module")
def keys():
    return {name: new_rsa_pair() for name in ("merchant", "platform", "other", "app", "alipay")}


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.fixture
def wechat(keys, settings, tmp_path):
    standin = WeChatPayStandIn(
        merchant_public_pem=keys["merchant"][1], platform_private_pem=keys["platform"][0],
        public_key_id=PUBLIC_KEY_ID, apiv3_key=APIV3_KEY, mchid="1900000109",
        appid="wxd678efh567hg6787",
    )  # fmt: skip
    server = StandInServer(standin).start()
    settings.PAYMENT_PROVIDER = "marketplace.payment_wechat.WeChatPayProvider"
    settings.WECHATPAY_MCHID, settings.WECHATPAY_APPID = "1900000109", "wxd678efh567hg6787"
    settings.WECHATPAY_PRIVATE_KEY_PATH = _write(tmp_path, "m.pem", keys["merchant"][0])
    settings.WECHATPAY_PUBLIC_KEY_PATH = _write(tmp_path, "p.pem", keys["platform"][1])
    settings.WECHATPAY_PUBLIC_KEY_ID = PUBLIC_KEY_ID
    settings.WECHATPAY_APIV3_KEY = APIV3_KEY
    settings.WECHATPAY_BASE_URL = settings.WECHATPAY_CUSTOMS_BASE_URL = server.url
    settings.WECHATPAY_CUSTOMS = "ZHENGZHOU_BS"
    settings.WECHATPAY_MERCHANT_CUSTOMS_NO = "4101260001"
    yield standin
    server.stop()


@pytest.fixture
def alipay(keys, settings, tmp_path):
    standin = AlipayStandIn(
        app_public_pem=keys["app"][1],
        alipay_private_pem=keys["alipay"][0],
        app_id="2021000000000001",
    )
    server = StandInServer(standin).start()
    settings.PAYMENT_PROVIDER = "marketplace.payment_alipay.AlipayProvider"
    settings.ALIPAY_APP_ID = "2021000000000001"
    settings.ALIPAY_APP_PRIVATE_KEY_PATH = _write(tmp_path, "a.pem", keys["app"][0])
    settings.ALIPAY_PUBLIC_KEY_PATH = _write(tmp_path, "ali.pem", keys["alipay"][1])
    settings.ALIPAY_GATEWAY_URL = f"{server.url}/gateway.do"
    settings.ALIPAY_MERCHANT_CUSTOMS_CODE = "4101260001"
    settings.ALIPAY_MERCHANT_CUSTOMS_NAME = "Bondport Zhengzhou"
    settings.ALIPAY_CUSTOMS_PLACE = "ZHENGZHOU"
    yield standin
    server.stop()


def post_wechat(client, body, headers):
    return client.post("/payments/notify/", data=body, content_type="application/json",
                       **headers_for(headers))  # fmt: skip


def post_alipay(client, body):
    return client.post("/payments/notify/", data=body,
                       content_type="application/x-www-form-urlencoded")  # fmt: skip


def fen(amount: Decimal) -> int:
    return int(amount * 100)


# --- WeChat Pay ------------------------------------------------------------------------------


def test_wechat_charge_carries_amount_in_fen_order_and_buyer_identity(world, wechat):
    [order] = place(world, (world.paste, 2))
    payment = payment_start(order=order, client_ip="10.1.2.3")
    charge = wechat.charges[payment.token]
    assert payment.pay_url.startswith(wechat.base_url + f"/pay/{payment.token}")
    assert charge["kind"] == "h5" and charge["scene_info"]["payer_client_ip"] == "10.1.2.3"
    assert (
        charge["amount"]
        == {"total": fen(order.total), "currency": "CNY"}
        == {"total": 10910, "currency": "CNY"}
    )
    assert charge["attach"] == order.number
    assert charge["payer"]["identity"] == {
        "type": "IDCARD", "number": world.shopper.resident_id, "name": "张三"
    }  # fmt: skip
    counter = payment_start(order=place(world, (world.paste, 1))[0], channel="counter")
    assert wechat.charges[counter.token]["kind"] == "native"


def test_wechat_requests_signed_with_another_key_are_refused_by_the_provider(
    world, wechat, keys, settings, tmp_path
):
    settings.WECHATPAY_PRIVATE_KEY_PATH = _write(tmp_path, "x.pem", keys["other"][0])
    [order] = place(world, (world.paste, 1))
    with pytest.raises(PaymentProviderUnavailable):
        payment_start(order=order)
    assert wechat.refused and not wechat.charges and not Payment.objects.exists()


def test_wechat_good_notification_pays_once_and_the_payment_company_files_with_customs(
    world, wechat, client
):
    [order] = place(world, (world.paste, 2))
    payment = payment_start(order=order)
    body, headers = wechat.pay(payment.token)
    response = post_wechat(client, body, headers)
    assert response.status_code == 200
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.state == "paid" and payment.amount_paid == Decimal("109.10")
    assert payment.transaction_id == wechat.charges[payment.token]["transaction_id"]
    # A re-sent notification (fresh signature) is answered, applied once.
    again = post_wechat(client, *wechat.notification(payment.token))
    assert again.status_code == 200 and order.events.filter(to_state="paid").count() == 1
    # Nothing filed by us: the payment company is asked to file the payment record.
    assert not Declaration.objects.filter(order_no=order.number, kind="payment").exists()
    payment_customs_declare(payment_id=payment.pk)
    [declared] = wechat.customs
    assert declared["sub_order_no"] == order.number and declared["order_fee"] == 10910
    assert declared["customs"] == "ZHENGZHOU_BS" and declared["merchant_customs_no"] == "4101260001"
    assert declared["transaction_id"] == payment.transaction_id
    [checked] = wechat.certificates
    assert checked["certificate_type"] == "IDCARD" and checked["certificate_name"] == "张三"
    assert checked["certificate_id"] == world.shopper.resident_id
    payment.refresh_from_db()
    assert payment.customs_answer["state"] == "SUBMITTED"
    assert payment.customs_answer["identity_check"] == "SAME" and payment.customs_declared_at
    decl = Declaration.objects.get(order_no=order.number, kind="payment")
    assert decl.state == "accepted" and decl.sent_at is None and decl.message_id is None
    assert decl.payload["filed_by"] == "wechatpay" and "filed by wechatpay" in decl.return_info
    payment_customs_declare(payment_id=payment.pk)  # idempotent: asked once
    assert len(wechat.customs) == 1


@pytest.mark.parametrize("attack", ["tampered", "wrong_key", "wrong_serial", "replayed"])
def test_wechat_bad_notifications_are_refused_with_403(world, wechat, client, keys, attack):
    [order] = place(world, (world.paste, 1))
    payment = payment_start(order=order)
    body, headers = wechat.pay(payment.token)
    if attack == "tampered":
        body = body.replace(
            b'"event_type": "TRANSACTION.SUCCESS"', b'"event_type":"TRANSACTION.SUCCESS"'
        )
    elif attack == "wrong_key":
        forger = WeChatPayStandIn(
            merchant_public_pem=keys["merchant"][1], platform_private_pem=keys["other"][0],
            public_key_id=PUBLIC_KEY_ID, apiv3_key=APIV3_KEY, mchid="1", appid="1",
        )  # fmt: skip
        headers = {**headers, **forger.signed_headers(body.decode())}
    elif attack == "wrong_serial":
        headers = {**headers, "Wechatpay-Serial": "PUB_KEY_ID_SOMEONE_ELSE"}
    elif attack == "replayed":
        assert post_wechat(client, body, headers).status_code == 200
    response = post_wechat(client, body, headers)
    expected = "replayed" if attack == "replayed" else "bad_signature"
    assert response.status_code == 403 and response.json()["code"] == expected
    order.refresh_from_db()
    assert order.state == ("paid" if attack == "replayed" else "placed")


def test_wechat_query_and_refund_to_the_fen(world, wechat, client):
    [order] = place(world, (world.paste, 2))
    payment = payment_start(order=order)
    from marketplace import payment_provider

    assert payment_provider.provider().query(token=payment.token)["state"] == "open"
    assert post_wechat(client, *wechat.pay(payment.token)).status_code == 200
    queried = payment_provider.provider().query(token=payment.token)
    assert queried["state"] == "paid" and queried["amount"] == order.total
    with transaction.atomic():
        refund = payment_refund(order=order, reason="changed my mind")
    refund_execute(refund_id=refund.pk)
    [received] = wechat.refunds
    assert received["amount"] == {"refund": 10910, "total": 10910, "currency": "CNY"}
    assert received["out_trade_no"] == payment.token
    assert Refund.objects.get(pk=refund.pk).state == "done"


def test_wechat_wallet_refuses_a_payer_who_is_not_the_buyer(world, wechat):
    [order] = place(world, (world.paste, 1))
    payment = payment_start(order=order)
    with pytest.raises(PermissionError):
        wechat.pay(payment.token, payer_name="李四", payer_id_number="360426199101010071")
    assert wechat.charges[payment.token]["trade_state"] == "NOTPAY"


# --- Alipay ----------------------------------------------------------------------------------


def test_alipay_wap_and_precreate_charges_carry_the_buyer_identity(world, alipay, client):
    [order] = place(world, (world.paste, 2))
    payment = payment_start(order=order)
    assert payment.pay_url.startswith(f"{alipay.base_url}/gateway.do?")
    assert not alipay.charges  # the wap pay request is the URL the shopper opens
    import requests

    page = requests.get(payment.pay_url, timeout=10)  # the provider checks our signature
    assert page.status_code == 200 and "109.10" in page.text
    charge = alipay.charges[payment.token]
    assert charge["total_amount"] == "109.10" and charge["passback_params"] == order.number
    assert charge["ext_user_info"] == {
        "name": "张三", "cert_type": "IDENTITY_CARD", "cert_no": world.shopper.resident_id,
        "need_check_info": "T",
    }  # fmt: skip
    counter = payment_start(order=place(world, (world.paste, 1))[0], channel="counter")
    assert counter.pay_url == f"{alipay.base_url}/pay/{counter.token}"
    assert alipay.charges[counter.token]["ext_user_info"]["need_check_info"] == "T"


def test_alipay_notification_pays_once_and_alipay_files_with_customs(world, alipay, client):
    [order] = place(world, (world.paste, 2))
    payment = payment_start(order=order, channel="counter")
    body = alipay.pay(payment.token)
    assert post_alipay(client, body).status_code == 200
    assert post_alipay(client, alipay.notification(payment.token)).status_code == 200  # re-sent
    order.refresh_from_db()
    assert order.state == "paid" and order.events.filter(to_state="paid").count() == 1
    payment.refresh_from_db()
    assert payment.amount_paid == Decimal("109.10")
    payment_customs_declare(payment_id=payment.pk)
    [declared] = alipay.customs
    assert declared["out_request_no"] == order.number and declared["amount"] == "109.10"
    assert declared["trade_no"] == payment.transaction_id
    assert (
        declared["merchant_customs_code"] == "4101260001"
        and declared["customs_place"] == "ZHENGZHOU"
    )
    assert declared["buyer_name"] == "张三" and declared["buyer_id_no"] == world.shopper.resident_id
    payment.refresh_from_db()
    assert payment.customs_answer["identity_check"] == "T" and payment.customs_answer["declared_no"]
    decl = Declaration.objects.get(order_no=order.number, kind="payment")
    assert (
        decl.state == "accepted" and decl.sent_at is None and decl.payload["filed_by"] == "alipay"
    )


@pytest.mark.parametrize("attack", ["tampered", "wrong_key", "other_app"])
def test_alipay_bad_notifications_are_refused_with_403(world, alipay, client, keys, attack):
    [order] = place(world, (world.paste, 1))
    payment = payment_start(order=order, channel="counter")
    body = alipay.pay(payment.token)
    if attack == "tampered":
        body = re.sub(rb"total_amount=[0-9.]+", b"total_amount=0.01", body)
    elif attack == "wrong_key":
        forger = AlipayStandIn(app_public_pem=keys["app"][1], alipay_private_pem=keys["other"][0],
                               app_id="2021000000000001")  # fmt: skip
        forger.charges = alipay.charges
        body = forger.notification(payment.token)
    elif attack == "other_app":
        alipay.app_id = "2021000000000999"
        body = alipay.notification(payment.token)
    response = post_alipay(client, body)
    assert response.status_code == 403 and response.json()["code"] == "bad_signature"
    order.refresh_from_db()
    assert order.state == "placed"


def test_alipay_query_and_refund_to_the_fen(world, alipay, client):
    from marketplace import payment_provider

    [order] = place(world, (world.paste, 2))
    payment = payment_start(order=order, channel="counter")
    assert post_alipay(client, alipay.pay(payment.token)).status_code == 200
    queried = payment_provider.provider().query(token=payment.token)
    assert queried["state"] == "paid" and queried["amount"] == Decimal("109.10")
    with transaction.atomic():
        refund = payment_refund(order=order, reason="changed my mind")
    refund_execute(refund_id=refund.pk)
    [received] = alipay.refunds
    assert received["refund_amount"] == "109.10" and received["out_trade_no"] == payment.token
    assert Refund.objects.get(pk=refund.pk).state == "done"


def test_alipay_refuses_a_payer_who_is_not_the_buyer(world, alipay):
    [order] = place(world, (world.paste, 1))
    payment = payment_start(order=order, channel="counter")
    with pytest.raises(PermissionError):
        alipay.pay(payment.token, payer_name="李四", payer_id_number="360426199101010071")


# --- the payer must be the buyer, before any charge ------------------------------------------


def _other_buyer(world):
    """The shopper's name changed after the order was declared to customs under the old one."""
    world.shopper.real_name = "张三丰"
    world.shopper.save(update_fields=["real_name"])


def test_a_buyer_identity_that_differs_from_the_declared_one_is_refused_before_paying(
    world, wechat
):
    [order] = place(world, (world.paste, 1))
    _other_buyer(world)
    with pytest.raises(PayerNotBuyer):
        payment_start(order=order)
    assert not wechat.charges and not Payment.objects.exists()


def test_a_resident_id_that_is_not_the_verified_one_is_refused_before_paying(world, alipay):
    [order] = place(world, (world.paste, 1))
    world.shopper.resident_id = "360426199101010071"  # valid, but not the registered one
    world.shopper.save(update_fields=["resident_id"])
    with pytest.raises(PayerNotBuyer):
        payment_start(order=order)
    assert not alipay.charges and not Payment.objects.exists()


def test_payer_not_buyer_on_the_api_is_a_409_in_the_shoppers_language(world, wechat):
    [order] = place(world, (world.paste, 1))
    _other_buyer(world)
    api = APIClient()
    api.force_authenticate(world.shopper.user)
    r = api.post(f"/api/v1/orders/{order.number}/payment/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert r.status_code == 409 and r.json()["code"] == "payer_not_buyer"
    assert "本人" in r.json()["message"]
    assert not wechat.charges


def test_payer_not_buyer_on_the_web_page_says_why_and_creates_no_charge(world, alipay, client):
    from tests.marketplace.test_order_pages import login

    [order] = place(world, (world.paste, 1))
    world.shopper.real_name = ""  # incomplete identity
    world.shopper.save(update_fields=["real_name"])
    login(client, world.shopper)
    response = client.post(
        f"/orders/{order.number}/pay/", HTTP_ACCEPT_LANGUAGE="zh-hans", follow=True
    )
    assert response.redirect_chain[-1][0].endswith(f"/orders/{order.number}/")
    assert "身份证" in response.content.decode()
    assert not alipay.charges and not Payment.objects.exists()


# --- a shopper pays on the stand-in's page; it notifies our running server ---------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("provider", ["wechat", "alipay"])
def test_a_shopper_pays_on_the_providers_page_and_its_notification_reaches_us(
    request, world, live_server, settings, provider
):
    import requests

    standin = request.getfixturevalue(provider)
    settings.PAYMENT_NOTIFY_URL = f"{live_server.url}/payments/notify/"
    [order] = place(world, (world.paste, 2))
    payment = payment_start(order=order)
    if provider == "alipay":
        assert requests.get(payment.pay_url, timeout=10).status_code == 200  # opens the page
    # Someone else cannot pay it; the buyer can (the page's blank form: the account holder).
    other = {"payer_name": "李四", "payer_id_number": "360426199101010071"}
    refused = requests.post(f"{standin.base_url}/pay/{payment.token}", data=other, timeout=10)
    assert refused.status_code == 403
    paid = requests.post(f"{standin.base_url}/pay/{payment.token}", data={}, timeout=30)
    assert paid.status_code == 200 and "Paid" in paid.text
    order.refresh_from_db()
    assert order.state == "paid"
    assert Payment.objects.get(pk=payment.pk).amount_paid == Decimal("109.10")


def test_an_identity_check_that_fails_at_the_payment_company_flags_the_order(world, wechat, client):
    [order] = place(world, (world.paste, 1))
    payment = payment_start(order=order)
    assert post_wechat(client, *wechat.pay(payment.token)).status_code == 200
    wechat.charges[payment.token]["paid_by"] = {"name": "李四", "number": "360426199101010071"}
    payment_customs_declare(payment_id=payment.pk)
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.customs_answer["identity_check"] == "DIFFERENT"
    assert order.flagged and "identity check DIFFERENT" in order.flag_reason
    assert not Declaration.objects.filter(order_no=order.number, kind="payment").exists()


def test_the_sweep_asks_the_payment_company_for_paid_payments_not_yet_declared(
    world, alipay, client, settings
):
    from marketplace.services.payments import payment_customs_declare_sweep

    [order] = place(world, (world.paste, 1))
    payment = payment_start(order=order, channel="counter")
    assert post_alipay(client, alipay.pay(payment.token)).status_code == 200
    assert payment_customs_declare_sweep(older_than_seconds=0) == 1
    assert [d["out_request_no"] for d in alipay.customs] == [order.number]
    assert payment_customs_declare_sweep(older_than_seconds=0) == 0  # answered: not again
    settings.PAYMENT_PROVIDER = "marketplace.payment_provider.SandboxProvider"
    assert payment_customs_declare_sweep(older_than_seconds=0) == 0


def test_the_sandbox_still_files_the_payment_record_itself(world, client):
    from tests.marketplace.support import pay

    [order] = place(world, (world.paste, 1))
    _charge, response = pay(client, order)
    assert response.status_code == 200
    decl = Declaration.objects.get(order_no=order.number, kind="payment")
    assert decl.state == "pending" and "filed_by" not in decl.payload
    assert Payment.objects.get(order=order).provider == "sandbox"


def test_with_wechat_pay_the_inventory_goes_out_without_a_ceb411_of_ours(
    world, wechat, client, sandbox
):
    """Against the real customs sandbox: order and waybill accepted, paid through WeChat Pay,
    the payment company's declaration recorded as the payment's; the inventory list is filed
    and we never send a payment message."""
    from customs import services as customs_services
    from tests.marketplace.test_order_life import file_now

    [order] = place(world, (world.paste, 1))
    file_now()
    payment = payment_start(order=order)
    assert post_wechat(client, *wechat.pay(payment.token)).status_code == 200
    payment_customs_declare(payment_id=payment.pk)
    customs_services.declarations_file()
    decl = Declaration.objects.get(order_no=order.number, kind="payment")
    assert decl.state == "accepted" and decl.message_id is None and decl.attempts == 0
    inventory = Declaration.objects.get(order_no=order.number, kind="inventory")
    assert inventory.state != "pending" and inventory.sent_at is not None


def test_a_payment_record_customs_would_not_take_is_not_filed_again_and_again():
    from datetime import UTC, datetime

    from marketplace.standins.customs_filing import CustomsFiler, PaymentRecord
    from tests.support import wait_until

    filer = CustomsFiler(customs_url="http://127.0.0.1:9/customs", secret="s", retry_seconds=0.05)
    record = PaymentRecord(
        pay_code="4403169D3W", pay_name="Tenpay", pay_transaction_id="4200000001",
        order_no="BP1", ebp_code="4101260001", ebp_name="Bondport", payer_name="",
        payer_id_number="", telephone="13800000000", amount_paid=Decimal("1.00"),
        pay_time=datetime.now(UTC),
    )  # fmt: skip
    assert filer.submit(record) == filer.submit(record) == record.guid  # the same filing
    wait_until(lambda: filer.filed("BP1")[0]["state"] != "queued", timeout=10)
    time.sleep(0.2)
    [filing] = filer.filed("BP1")
    assert filing["state"] == "invalid" and filing["attempts"] == 1
