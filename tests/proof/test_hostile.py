"""Hostile input that needs no extra processes: brute force on every sign-in path, signed
callbacks (bad signature, stale, replayed), production headers and resident IDs kept out of
logs, URLs and error pages."""

import json
import logging
import re
import secrets
import subprocess
import sys
import time

import pytest
from django.conf import settings as django_settings
from django.test import Client

from customs.signing import sign as ceb_sign
from customs.signing import signed_headers
from marketplace import payment_provider
from marketplace.models import Payment, SandboxCharge
from marketplace.services import payment_start
from marketplace.services.payments import sign as pay_sign
from tests.marketplace.support import headers_for, place
from tests.support import BASE_DIR, production_env, test_database_url

pytestmark = pytest.mark.django_db
PASSWORD = "a-Long-demo-pass-42"


def fresh_ip() -> str:
    """An address no earlier run has used: lockouts live in the cache, which may be Redis."""
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


def client_at(ip: str, language: str = "zh-hans") -> Client:
    return Client(REMOTE_ADDR=ip, HTTP_ACCEPT_LANGUAGE=language)


@pytest.fixture
def limits(settings):
    settings.SIGNIN_MAX_FAILURES = 3
    settings.SIGNIN_MAX_FAILURES_PER_IP = 6
    settings.REGISTER_MAX_PER_IP = 2
    settings.SIGNIN_LOCKOUT_MINUTES = 15
    return settings


def _login(client, username, password, path="/login/"):
    return client.post(path, {"username": username, "password": password})


# --- brute force: web sign-in, admin sign-in, registration ---------------------------------


def test_web_sign_in_locks_a_name_after_its_failures_even_with_the_right_password(world, limits):
    user = world.shopper.user
    user.set_password(PASSWORD)
    user.save()
    web = client_at(fresh_ip(), "en")
    for _ in range(2):
        response = _login(web, world.shopper.mobile, "wrong-password")
        assert response.status_code == 200 and "do not match" in response.content.decode()
    locked = _login(web, world.shopper.mobile, "wrong-password")
    assert locked.status_code == 429
    assert "Too many failed attempts" in locked.content.decode()
    # The right password from another address is refused too while the name is locked.
    other = client_at(fresh_ip(), "zh-hans")
    refused = _login(other, world.shopper.mobile, PASSWORD)
    assert refused.status_code == 429 and "失败次数过多" in refused.content.decode()
    assert "_auth_user_id" not in other.session
    # ...but another shopper is not locked out by it.
    world.other.user.set_password(PASSWORD)
    world.other.user.save()
    assert _login(other, world.other.mobile, PASSWORD).status_code == 302


def test_a_successful_sign_in_clears_the_name_count(world, limits):
    world.shopper.user.set_password(PASSWORD)
    world.shopper.user.save()
    web = client_at(fresh_ip())
    for _ in range(2):
        _login(web, world.shopper.mobile, "nope")
    assert _login(web, world.shopper.mobile, PASSWORD).status_code == 302
    web.post("/logout/")
    for _ in range(2):
        assert _login(web, world.shopper.mobile, "nope").status_code == 200  # counted afresh


def test_web_sign_in_locks_an_address_trying_many_names(world, limits):
    web = client_at(fresh_ip(), "en")
    codes = [_login(web, f"nobody-{i}-{secrets.token_hex(4)}", "x").status_code for i in range(7)]
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]


def test_admin_sign_in_has_the_same_lockout(admin_user, limits):
    web = client_at(fresh_ip(), "en")
    for _ in range(3):
        _login(web, admin_user.username, "wrong", path="/admin/login/")
    response = _login(web, admin_user.username, "password", path="/admin/login/")
    assert "Too many failed attempts" in response.content.decode()
    assert "_auth_user_id" not in web.session


def test_registration_is_limited_per_address(world, limits):
    """Only refusals that look like probing count (an ID or mobile already registered); a typo
    (bad check digit) and a successful sign-up do not, so a shop's shared address is not locked
    by its customers."""
    web = client_at(fresh_ip(), "en")
    form = {"real_name": "王五", "resident_id": "110105194912310021", "mobile": "13900000991",
            "username": "", "password1": PASSWORD, "password2": PASSWORD}  # fmt: skip
    for _ in range(3):
        assert web.post("/register/", form).status_code == 200  # bad checksum: a typo
    taken = {**form, "resident_id": world.shopper.resident_id}
    assert web.post("/register/", taken).status_code == 200  # already registered: counts
    response = web.post("/register/", {**taken, "mobile": "13900000992"})
    body = response.content.decode()
    assert response.status_code == 429 and "already registered" in body and "paused" in body
    assert world.shopper.resident_id not in body  # never echoed back


def test_api_token_and_registration_are_throttled(world, settings):
    from django.core.cache import cache

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"auth": "3/min"}}  # fmt: skip
    from rest_framework.settings import api_settings
    from rest_framework.throttling import ScopedRateThrottle

    api_settings.reload()
    ScopedRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    cache.clear()
    try:
        web = Client(REMOTE_ADDR=fresh_ip())
        codes = [
            web.post("/api/v1/auth/token/", {"username": "x", "password": "y"}).status_code
            for _ in range(4)
        ]
        assert codes[-1] == 429 and 429 not in codes[:3]
    finally:
        settings.REST_FRAMEWORK = django_settings.REST_FRAMEWORK
        api_settings.reload()
        ScopedRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES


def test_kiosk_pickup_codes_and_identity_checks_lock_out(world, settings):
    from tests.pickup.factories import kiosk, pickup_order

    settings.PICKUP_MAX_WRONG_TRIES = 3
    from rest_framework.test import APIClient

    _kiosk, key = kiosk("C-ZZ2")
    desk = APIClient()
    desk.credentials(HTTP_AUTHORIZATION=f"Kiosk {key}")
    _order, code = pickup_order(counter_code="C-ZZ2", shopper=world.shopper)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    statuses = [desk.post("/api/v1/kiosk/pickups/lookup", {"code": wrong}).status_code
                for _ in range(4)]  # fmt: skip
    assert statuses[-1] == 429
    # Locked: even the right code is refused now.
    right = desk.post("/api/v1/kiosk/pickups/lookup", {"code": code})
    assert right.status_code == 429 and right.json()["code"] == "locked"

    _kiosk2, key2 = kiosk("C-ZZ3")
    desk2 = APIClient()
    desk2.credentials(HTTP_AUTHORIZATION=f"Kiosk {key2}")
    _order2, code2 = pickup_order(counter_code="C-ZZ3", shopper=world.other)
    found = desk2.post("/api/v1/kiosk/pickups/lookup", {"code": code2})
    assert found.status_code == 200 and found.json()["order_no"] == _order2.number
    answers = [
        desk2.post("/api/v1/kiosk/pickups/identity", {"code": code2, "id": "00000X"}).status_code
        for _ in range(4)
    ]
    assert answers[-1] == 429, answers


# --- signed callbacks ----------------------------------------------------------------------

PAY_URL = "/payments/notify/"
RECEIPTS_URL = "/api/v1/customs/receipts"


def _pay_headers(body: bytes, *, secret=None, timestamp=None, nonce=None) -> dict:
    timestamp = timestamp or str(int(time.time()))
    nonce = nonce or secrets.token_hex(16)
    secret = secret or django_settings.PAYMENT_PROVIDER_SECRET
    return {"X-Pay-Timestamp": timestamp, "X-Pay-Nonce": nonce,
            "X-Pay-Signature": pay_sign(secret=secret, timestamp=timestamp, nonce=nonce,
                                        body=body)}  # fmt: skip


def _ceb_headers(body: bytes, *, secret=None, timestamp=None, nonce=None) -> dict:
    secret = secret or django_settings.CUSTOMS_GATEWAY_SECRET
    if timestamp is None and nonce is None:
        return signed_headers(secret=secret, method="POST", path=RECEIPTS_URL, body=body,
                              sender="GW")  # fmt: skip
    timestamp = timestamp or str(int(time.time()))
    nonce = nonce or secrets.token_hex(16)
    return {"X-Ceb-Sender": "GW", "X-Ceb-Timestamp": timestamp, "X-Ceb-Nonce": nonce,
            "X-Ceb-Signature": ceb_sign(secret=secret, method="POST", path=RECEIPTS_URL,
                                        body=body, timestamp=timestamp,
                                        nonce=nonce)}  # fmt: skip


EXPECTED_CODE = {"bad_signature": "bad_signature", "tampered_body": "bad_signature",
                 "unsigned": "bad_signature", "stale": "stale", "replayed": "replayed"}  # fmt: skip


@pytest.mark.parametrize("attack", ["bad_signature", "stale", "replayed", "tampered_body"])
def test_payment_notification_attacks_are_refused_and_change_nothing(world, client, attack):
    order = place(world, (world.paste, 1))[0]
    payment = payment_start(order=order)
    payment_provider.sandbox_pay(token=payment.token)
    body = payment_provider.notification_body(SandboxCharge.objects.get(token=payment.token))
    if attack == "bad_signature":
        headers = _pay_headers(body, secret="not-the-secret")
    elif attack == "stale":
        headers = _pay_headers(body, timestamp=str(int(time.time()) - 3600))
    elif attack == "tampered_body":
        headers = _pay_headers(body)
        body = body.replace(b'"', b'"', 1) + b" "
    else:
        headers = _pay_headers(body)
        first = client.post(PAY_URL, data=body, content_type="application/json",
                            **headers_for(headers))  # fmt: skip
        assert first.status_code == 200
    response = client.post(PAY_URL, data=body, content_type="application/json",
                           **headers_for(headers))  # fmt: skip
    assert response.status_code == 403, (attack, response.content)
    # One answer for one kind of refusal on every callback endpoint (STYLE.md).
    assert response.json()["code"] == EXPECTED_CODE[attack]
    if attack != "replayed":
        assert Payment.objects.get(pk=payment.pk).state != "succeeded"


@pytest.mark.parametrize("attack", ["bad_signature", "stale", "replayed", "unsigned"])
def test_customs_receipt_push_attacks_are_refused(db, client, attack):
    from customs.models import Receipt

    body = json.dumps({"receipts": [{"guid": f"X-{attack}", "declGuid": "nope",
                                     "orderNo": "BP1", "returnStatus": 800,
                                     "authority": "customs"}]}).encode()  # fmt: skip
    if attack == "bad_signature":
        headers = _ceb_headers(body, secret="not-the-secret")
    elif attack == "stale":
        headers = _ceb_headers(body, timestamp=str(int(time.time()) - 3600))
    elif attack == "unsigned":
        headers = {}
    else:
        headers = _ceb_headers(body)
        first = client.post(RECEIPTS_URL, data=body, content_type="application/json",
                            headers=headers)  # fmt: skip
        assert first.status_code == 200
    response = client.post(RECEIPTS_URL, data=body, content_type="application/json",
                           headers=headers)  # fmt: skip
    assert response.status_code == 403 and response.json()["code"] == EXPECTED_CODE[attack]
    assert set(response.json()) == {"code", "message", "extra"}
    assert Receipt.objects.filter(guid=f"X-{attack}").count() == (attack == "replayed")


def test_a_bad_signature_gets_the_same_answer_on_every_callback_endpoint(db, client):
    """Payment notification, courier callback, customs receipt push: one status, one body."""
    body = json.dumps({"receipts": []}).encode()
    forged = {"HTTP_X_PAY_SIGNATURE": "0" * 64, "HTTP_X_COURIER_SIGNATURE": "0" * 64,
              "HTTP_X_CEB_SIGNATURE": "0" * 64, "HTTP_X_PAY_TIMESTAMP": str(int(time.time())),
              "HTTP_X_COURIER_TIMESTAMP": str(int(time.time())),
              "HTTP_X_CEB_TIMESTAMP": str(int(time.time())), "HTTP_X_PAY_NONCE": "n" * 32,
              "HTTP_X_COURIER_NONCE": "n" * 32, "HTTP_X_CEB_NONCE": "n" * 32}  # fmt: skip
    answers = [
        client.post(url, data=body, content_type="application/json", **forged)
        for url in (PAY_URL, "/courier/callback/", RECEIPTS_URL)
    ]
    assert [a.status_code for a in answers] == [403, 403, 403]
    assert [a["Content-Type"] for a in answers] == ["application/json"] * 3
    assert answers[0].json() == answers[1].json() == answers[2].json()
    assert answers[0].json()["code"] == "bad_signature"


# --- production settings -------------------------------------------------------------------


def _production_env() -> dict:
    return production_env()


def test_check_deploy_is_clean_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR, env=_production_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_responses_carry_the_security_headers():
    script = (
        "import django, json; django.setup()\n"
        "from django.test import Client\n"
        "from django.conf import settings\n"
        "settings.STORAGES['staticfiles'] = {'BACKEND':"
        " 'django.contrib.staticfiles.storage.StaticFilesStorage'}  # no collectstatic here\n"
        "r = Client().get('/login/', secure=True, HTTP_HOST='shop.example.cn')\n"
        "r2 = Client().post('/login/', {'username': 'x', 'password': 'y'}, secure=True,"
        " HTTP_HOST='shop.example.cn')\n"
        # The session cookie as the production settings make it (sessions in the cache here:
        # the test database is not this process's to write).
        "settings.SESSION_ENGINE = 'django.contrib.sessions.backends.cache'\n"
        "from django.contrib.sessions.middleware import SessionMiddleware\n"
        "from django.http import HttpResponse\n"
        "from django.test import RequestFactory\n"
        "def view(request):\n"
        "    request.session['probe'] = 1\n"
        "    return HttpResponse()\n"
        "r3 = SessionMiddleware(view)(RequestFactory().get('/', secure=True))\n"
        "print(json.dumps({'status': r.status_code, 'headers': dict(r.headers),"
        " 'cookies': {k: dict(v) for k, v in [*r2.cookies.items(), *r3.cookies.items()]},"
        " 'plain': Client().get('/login/', HTTP_HOST='shop.example.cn').status_code}))\n"
    )
    env = {**_production_env(), "DJANGO_SETTINGS_MODULE": "config.settings",
           "DATABASE_URL": test_database_url(), "CACHE_URL": "locmemcache://"}  # fmt: skip
    result = subprocess.run([sys.executable, "-c", script], cwd=BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert seen["plain"] == 301  # plain HTTP is redirected to HTTPS
    assert "max-age=31536000" in headers["strict-transport-security"]
    assert "includeSubDomains" in headers["strict-transport-security"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-frame-options"] == "DENY"
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp and "object-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert "script-src 'self';" in csp  # no inline script at all
    cookies = seen["cookies"]
    assert {"csrftoken", "sessionid"} <= set(cookies), cookies
    for name, cookie in cookies.items():
        assert cookie["secure"] is True, name  # never sent over plain HTTP
        assert cookie["samesite"] in ("Lax", "Strict"), name
    assert cookies["sessionid"]["httponly"] is True  # no script can read the session


def test_every_page_gets_a_fresh_csp_nonce_and_no_inline_script(world, client):
    first, second = client.get("/"), client.get("/")
    nonce = re.search(r"'nonce-([^']+)'", first["Content-Security-Policy"]).group(1)
    assert nonce not in second["Content-Security-Policy"]
    for path in ["/", "/products/", "/login/", "/register/", "/kiosk/sign-in", "/api/docs/"]:
        html = client.get(path).content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\sstyle=\"", html), path
        assert not re.search(r"<style(?![^>]*nonce=)", html), path


def test_api_docs_init_script_is_served_separately(client):
    page = client.get("/api/docs/").content.decode()
    script_url = re.search(r'<script src="([^"]*script=[^"]*)"', page).group(1)
    script = client.get(script_url.replace("&amp;", "&"))
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


# --- resident IDs never leak ---------------------------------------------------------------


def test_resident_id_never_reaches_logs_urls_or_error_pages(world, sandbox, client, caplog):
    """Register, order, pay and release with every log record captured; then hunt for the
    raw ID in the records, in every URL visited and in error pages."""
    from tests.customs.support import drive

    resident_id = "11010519491231002X"
    caplog.set_level(logging.DEBUG)
    visited = []

    def go(method, path, data=None, **extra):
        response = getattr(client, method)(path, data or {}, **extra)
        visited.append(path)
        if response.status_code in (301, 302):
            visited.append(response["Location"])
        return response

    form = {"real_name": "王小明", "resident_id": resident_id, "mobile": "13900000077",
            "username": "", "password1": PASSWORD, "password2": PASSWORD}  # fmt: skip
    assert go("post", "/register/", form).status_code == 302
    go("post", "/cart/", {"listing": world.paste.pk, "quantity": "1"})
    response = go("post", "/checkout/", {"mode": "pickup", "counter_code": "C-ZZ1",
                                         "confirm": "1"})  # fmt: skip
    number = re.search(r"/orders/(BP\d+)/", response["Location"]).group(1)
    pay = go("post", f"/orders/{number}/pay/")
    token = pay["Location"].rstrip("/").rsplit("/", 1)[-1]
    payment_provider.sandbox_pay(token=token)
    charge = SandboxCharge.objects.get(token=token)
    body, headers = payment_provider.signed_notification(charge)
    client.post(PAY_URL, data=body, content_type="application/json", **headers_for(headers))
    drive(number)
    pages = [go("get", p) for p in ["/account/", f"/orders/{number}/", "/orders/",
                                    f"/orders/{number}/status.json", "/api/v1/me/"]]  # fmt: skip
    # An error page after a form post carrying the ID: a duplicate registration.
    dup = go("post", "/register/", form)
    bad = go("post", "/register/", {**form, "mobile": "139", "password2": "differs"})
    errors = [dup, bad]
    logged = "\n".join(
        f"{r.getMessage()} {r.args!r} {getattr(r, 'exc_text', '') or ''}" for r in caplog.records
    )
    assert len(caplog.records) > 5, "the flow should have logged something"
    from config.logging import JsonFormatter  # production's format: extras and tracebacks too

    logged += "\n" + "\n".join(JsonFormatter().format(r) for r in caplog.records)
    variants = {resident_id, resident_id.lower(), resident_id[:-1]}
    for variant in variants:
        assert variant not in logged
        assert not any(variant in url for url in visited)
        for page in pages:
            assert variant not in page.content.decode()
        for page in errors:
            assert variant not in page.content.decode(), page.status_code
