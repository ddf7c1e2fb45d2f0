"""The whole web flow with CUSTOMS_TRANSPORT=eport: register, checkout, pay, and customs
releases the order through signed files in the E-Port exchange folders, with a real Celery
worker filing (signing, writing the outbox) and taking the inbox (the beat's task, sent here
every half second as the beat sends it), and the E-Port stand-in as its own process."""

import threading

import pytest

from customs import sm2
from customs.models import ExchangeFile, Receipt
from tests.customs.support import EPortStandInProcess
from tests.flows.test_order_flow import QUEUES, _flow

PLATFORM_KEY = sm2.generate_private_key()
STANDIN_KEY = sm2.generate_private_key()
CERT_NO = "CERT-FLOW-1"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_checkout_to_release_through_signed_files_in_the_exchange_folders(
    world, live_server, celery_worker_process, tmp_path, settings
):
    standin = EPortStandInProcess(
        tmp_path, platform_key=PLATFORM_KEY, standin_key=STANDIN_KEY, cert_no=CERT_NO
    ).start()
    env = {
        "CUSTOMS_TRANSPORT": "eport",
        "CUSTOMS_SIGNER": "soft",
        "CUSTOMS_SM2_PRIVATE_KEY": PLATFORM_KEY,
        "CUSTOMS_SIGNER_CERT_NO": CERT_NO,
        "CUSTOMS_EPORT_AUTHORITY_PUBLIC_KEY": sm2.public_key_of(STANDIN_KEY),
        "CUSTOMS_EPORT_SETTLE_SECONDS": "0",
        "CUSTOMS_RETRY_BASE_SECONDS": "0.3",
        "PAYMENT_PROVIDER_SECRET": settings.PAYMENT_PROVIDER_SECRET,
        **{
            f"CUSTOMS_EPORT_{n.upper()}": str(tmp_path / n)
            for n in ("outbox", "inbox", "archive", "quarantine")
        },
    }
    for name, value in env.items():
        if name.startswith("CUSTOMS_"):
            setattr(settings, name, float(value) if name.endswith("SECONDS") else value)
    settings.PAYMENT_SANDBOX_URL = f"{live_server.url}/sandbox/pay"
    settings.PAYMENT_NOTIFY_URL = f"{live_server.url}/payments/notify/"
    stop = threading.Event()

    def beat() -> None:
        from config.celery import app

        while not stop.wait(0.5):
            app.send_task("customs.tasks.eport_inbox_process")

    ticker = threading.Thread(target=beat, daemon=True)
    try:
        celery_worker_process(QUEUES, extra_env=env).start()
        ticker.start()
        _flow(world, live_server)
    finally:
        stop.set()
        standin.stop()
    receipts = Receipt.objects.all()
    assert receipts.exists() and set(receipts.values_list("source", flat=True)) == {"eport"}
    assert receipts.filter(return_status=800).exists()
    assert not ExchangeFile.objects.filter(state="quarantined").exists()
    sent = {p.name.split("_")[0] for p in (tmp_path / "sent").iterdir()}
    assert {"CEB311Message", "CEB411Message", "CEB511Message", "CEB621Message"} <= sent
    assert not list((tmp_path / "inbox").glob("*.xml"))
