"""With a real payment adapter (WeChat Pay, Alipay) the payment company, not we, files the
payment record CEB411 with customs. The whole flow over real HTTP: the adapter pointed at its
stand-in (a real HTTP server here), the customs sandbox as its own process, a real Celery
worker; the shopper pays on the provider's page, the worker asks the provider to declare, the
stand-in files the CEB411 under the payment company's code, the inventory list passes the
three-document check and the order is released. And with the authority down when the
provider declares: the stand-in retries, the CEB411 arrives later, filed once."""

import pytest
import requests

from marketplace.models import Order, Payment
from marketplace.payment_keys import new_rsa_pair
from marketplace.selectors.orders import order_by_no, order_timeline
from marketplace.standins import StandInServer
from marketplace.standins.alipay import AlipayStandIn
from marketplace.standins.customs_filing import CustomsFiler
from marketplace.standins.wechatpay import WeChatPayStandIn
from tests.customs.support import SandboxProcess
from tests.flows.support import register_and_check_out_at_counter
from tests.flows.test_order_flow import QUEUES
from tests.support import wait_until

APIV3_KEY = "0123456789abcdef0123456789abcdef"
PUBLIC_KEY_ID = "PUB_KEY_ID_0114232806052025031300000000"
EBP_CODE = "4101260001"


def _provider(name: str, tmp_path, filer: CustomsFiler):
    """The stand-in on a free port, and the settings that point its adapter at it."""
    merchant, platform = new_rsa_pair(), new_rsa_pair()

    def write(file: str, text: str) -> str:
        (tmp_path / file).write_text(text)
        return str(tmp_path / file)

    if name == "wechatpay":
        standin = WeChatPayStandIn(
            merchant_public_pem=merchant[1], platform_private_pem=platform[0],
            public_key_id=PUBLIC_KEY_ID, apiv3_key=APIV3_KEY, mchid="1900000109",
            appid="wxd678efh567hg6787", filer=filer,
        )  # fmt: skip
        server = StandInServer(standin).start()
        env = {
            "PAYMENT_PROVIDER": "wechatpay", "WECHATPAY_MCHID": "1900000109",
            "WECHATPAY_APPID": "wxd678efh567hg6787",
            "WECHATPAY_PRIVATE_KEY_PATH": write("m.pem", merchant[0]),
            "WECHATPAY_PUBLIC_KEY_PATH": write("p.pem", platform[1]),
            "WECHATPAY_PUBLIC_KEY_ID": PUBLIC_KEY_ID, "WECHATPAY_APIV3_KEY": APIV3_KEY,
            "WECHATPAY_BASE_URL": server.url, "WECHATPAY_CUSTOMS_BASE_URL": server.url,
            "WECHATPAY_CUSTOMS": "ZHENGZHOU_BS", "WECHATPAY_MERCHANT_CUSTOMS_NO": EBP_CODE,
        }  # fmt: skip
    else:
        standin = AlipayStandIn(
            app_public_pem=merchant[1], alipay_private_pem=platform[0],
            app_id="2021000000000001", filer=filer,
        )  # fmt: skip
        server = StandInServer(standin).start()
        env = {
            "PAYMENT_PROVIDER": "alipay", "ALIPAY_APP_ID": "2021000000000001",
            "ALIPAY_APP_PRIVATE_KEY_PATH": write("a.pem", merchant[0]),
            "ALIPAY_PUBLIC_KEY_PATH": write("ali.pem", platform[1]),
            "ALIPAY_GATEWAY_URL": f"{server.url}/gateway.do",
            "ALIPAY_MERCHANT_CUSTOMS_CODE": EBP_CODE,
            "ALIPAY_MERCHANT_CUSTOMS_NAME": "Bondport Zhengzhou",
            "ALIPAY_CUSTOMS_PLACE": "ZHENGZHOU",
        }  # fmt: skip
    return standin, server, env


def _apply(settings, env: dict) -> None:
    for name, value in env.items():
        if name == "PAYMENT_PROVIDER":
            value = settings.PAYMENT_PROVIDER_NAMES[value]
        elif name == "CUSTOMS_RETRY_BASE_SECONDS":
            value = float(value)
        setattr(settings, name, value)


def _place_and_pay(world, live_server, standin, sandbox, *, before_paying=None):
    """Register, check out at the counter, wait for order and waybill to be filed, pay on the
    provider's page (as from the shopper's phone); the order number and the shopper's web."""
    web, number = register_and_check_out_at_counter(world)
    wait_until(lambda: order_timeline(order_by_no(number))[2].at, timeout=60, interval=0.2)
    held = sandbox.records(number)
    assert {"customs:CEB311", "customs:CEB511"} <= set(held) and "customs:CEB411" not in held
    if before_paying:
        before_paying()
    response = web.post(f"/orders/{number}/pay/")
    pay_url = response["Location"]
    assert pay_url.startswith(standin.base_url), pay_url
    phone = requests.Session()
    page = phone.get(pay_url, timeout=10)
    assert page.status_code == 200 and "109.10" in page.text
    token = Payment.objects.get(order__number=number).token
    paid = phone.post(f"{standin.base_url}/pay/{token}", data={}, timeout=10)
    assert paid.status_code == 200 and "支付成功" in paid.text
    return number, web


def _assert_filed_by_the_payment_company(sandbox, standin, number: str) -> dict:
    payment = Payment.objects.get(order__number=number)
    held = sandbox.records(number)
    ceb411 = held["customs:CEB411"]
    head = ceb411["data"]["head"]
    assert head["payCode"] == standin.pay_code != "4101990001"  # not the platform's setting
    assert head["payTransactionId"] == payment.transaction_id
    assert head["amountPaid"] == "109.10" == f"{payment.amount_paid:.2f}"
    assert head["orderNo"] == number and head["ebpCode"] == EBP_CODE
    assert head["payerName"] == "王小明" and head["payerIdNumber"] == "11010519491231002X"
    assert ceb411["status"] == 120
    inventory = held["customs:CEB621"]
    assert inventory["status"] == 800, inventory["info"]  # passed the three-document check
    assert sandbox.state()["second_records"] == []
    return ceb411


def _start(world, live_server, celery_worker_process, tmp_path, settings, provider: str,
           retry_seconds: float = 2.0):  # fmt: skip
    sandbox = SandboxProcess(
        tmp_path / "authority.sqlite3", callback_url=f"{live_server.url}/api/v1/customs/receipts"
    ).start()
    filer = CustomsFiler(
        customs_url=sandbox.customs_url, secret=sandbox.secret, retry_seconds=retry_seconds
    )
    standin, server, env = _provider(provider, tmp_path, filer)
    env |= {
        "CUSTOMS_GATEWAY_URL": sandbox.customs_url, "CUSTOMS_CIQ_URL": sandbox.ciq_url,
        "CUSTOMS_RETRY_BASE_SECONDS": "0.3",
        "PAYMENT_PROVIDER_SECRET": settings.PAYMENT_PROVIDER_SECRET,
        "PAYMENT_NOTIFY_URL": f"{live_server.url}/payments/notify/",
    }  # fmt: skip
    _apply(settings, env)
    celery_worker_process(QUEUES, extra_env=env).start()
    return sandbox, filer, standin, server


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("provider", ["wechatpay", "alipay"])
def test_the_payment_company_files_the_ceb411_and_the_order_is_released(
    world, live_server, celery_worker_process, tmp_path, settings, provider
):
    sandbox, filer, standin, server = _start(
        world, live_server, celery_worker_process, tmp_path, settings, provider
    )
    try:
        number, web = _place_and_pay(world, live_server, standin, sandbox)
        wait_until(lambda: Order.objects.get(number=number).state == "released", timeout=90,
                   interval=0.25)  # fmt: skip
        _assert_filed_by_the_payment_company(sandbox, standin, number)
        [filing] = filer.filed(number)
        assert filing["state"] == "filed" and filing["attempts"] == 1
    finally:
        server.stop()
        sandbox.stop()
    order = order_by_no(number)
    assert order.state == "released" and order.clearance_state == "released"
    payment = Payment.objects.get(order=order)
    assert payment.provider == provider and payment.customs_answer["accepted"] is True
    status = web.get(f"/orders/{number}/status.json").json()
    assert status["state"] == "released" and status["clearance"] == "released"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_authority_down_when_the_provider_declares_the_ceb411_arrives_later_filed_once(
    world, live_server, celery_worker_process, tmp_path, settings
):
    sandbox, filer, standin, server = _start(
        world, live_server, celery_worker_process, tmp_path, settings, "wechatpay",
        retry_seconds=0.3,
    )  # fmt: skip
    try:
        number, _web = _place_and_pay(
            world, live_server, standin, sandbox, before_paying=lambda: sandbox.control(outage=True)
        )
        # The provider accepted the declaration; its filing fails while customs is down.
        wait_until(lambda: standin.customs, timeout=60, interval=0.1)
        wait_until(lambda: (filer.filed(number) or [{}])[0].get("attempts", 0) >= 2,
                   timeout=30, interval=0.1)  # fmt: skip
        [waiting] = filer.filed(number)
        assert waiting["state"] == "queued" and "503" in waiting["last_error"]
        assert "customs:CEB411" not in sandbox.records(number)
        sandbox.control(outage=False)
        wait_until(lambda: Order.objects.get(number=number).state == "released", timeout=90,
                   interval=0.25)  # fmt: skip
        _assert_filed_by_the_payment_company(sandbox, standin, number)
        [filing] = filer.filed(number)
        assert filing["state"] == "filed" and filing["attempts"] >= 3
        # The same payment filed again (a retry whose answer was lost): the same guid, which
        # the authority answers as a duplicate; it still holds one CEB411.
        token = Payment.objects.get(order__number=number).token
        record = standin._payment_record(standin.charges[token], standin.customs[0])
        again = filer._transport(standin.pay_code).send(
            authority="customs", message_guid=record.message_guid, xml=record.xml(),
            order_nos=[number],
        )  # fmt: skip
        assert again.body["duplicate"] is True and sandbox.state()["second_records"] == []
        filer.submit(record)  # declared again (the sweep): the stand-in files nothing new
        assert (
            len(filer.filed(number)) == 1
            and filer.filed(number)[0]["attempts"] == filing["attempts"]
        )
    finally:
        server.stop()
        sandbox.stop()
    assert Order.objects.get(number=number).clearance_state == "released"
