from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from rest_framework.test import APIClient

from pickup.errors import CounterNotAllowed
from pickup.models import Kiosk
from pickup.services import kiosk_create, kiosk_revoke
from tests.pickup import factories

pytestmark = pytest.mark.django_db


def test_key_is_stored_only_as_a_keyed_hash(kiosk_pair):
    kiosk, key = kiosk_pair
    assert key.startswith("bpk_") and len(key) > 40
    stored = Kiosk.objects.values().get(pk=kiosk.pk)
    assert key not in str(stored)
    assert stored["key_prefix"] == key[:8]


def test_kiosk_refused_at_a_counter_outside_the_zone():
    factories.counter("C-CITY", inside=False)
    with pytest.raises(CounterNotAllowed):
        kiosk_create(name="city", counter_code="C-CITY", actor="test")


def test_kiosk_refused_at_a_storage_location():
    from tests.marketplace.factories import LocationFactory

    LocationFactory(code="ZZ-A", inside_supervision_zone=True)
    with pytest.raises(CounterNotAllowed):
        kiosk_create(name="store", counter_code="ZZ-A", actor="test")


def test_api_answers_with_the_key_and_records_last_use(api, kiosk):
    response = api.get("/api/v1/kiosk/me")
    assert response.status_code == 200, response.data
    assert response.data["counter_code"] == "C-ZZ1"
    kiosk.refresh_from_db()
    assert kiosk.last_used_at is not None


def test_api_refuses_no_key_and_a_wrong_key(db):
    assert APIClient().get("/api/v1/kiosk/me").status_code in (401, 403)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Kiosk not-a-key")
    response = client.get("/api/v1/kiosk/me")
    assert response.status_code == 401
    assert response.data["code"] == "kiosk_key_invalid"


def test_revoked_key_is_refused(api, kiosk, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the key now kept by the process
        assert api.get("/api/v1/kiosk/me").status_code == 200
    kiosk_revoke(kiosk=kiosk, actor="test")
    response = api.get("/api/v1/kiosk/me")
    assert response.status_code == 401
    assert response.data["code"] == "kiosk_key_invalid"


def test_a_staff_user_session_is_not_a_kiosk(admin_client):
    assert admin_client.get("/api/v1/kiosk/me").status_code == 401


def test_ui_sign_in_with_the_key_and_revocation_ends_the_session(client, kiosk_pair):
    kiosk, key = kiosk_pair
    assert "id_key" in client.get("/kiosk/").content.decode()
    assert client.post("/kiosk/sign-in", {"key": "wrong"}).status_code == 400
    response = client.post("/kiosk/sign-in", {"key": key})
    assert response.status_code == 302
    page = client.get("/kiosk/").content.decode()
    assert 'id="kiosk"' in page and "C-ZZ1" in page
    me = client.get("/api/v1/kiosk/me")
    assert me.status_code == 200
    assert me.json() == {"kiosk_id": kiosk.pk, "name": kiosk.name, "counter_code": "C-ZZ1"}
    kiosk_revoke(kiosk=kiosk, actor="test")
    assert "id_key" in client.get("/kiosk/").content.decode()
    assert client.get("/api/v1/kiosk/me").status_code == 401


def test_session_calls_need_the_csrf_token(kiosk_pair):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.get("/kiosk/")
    token = client.cookies["csrftoken"].value
    client.post("/kiosk/sign-in", {"key": kiosk_pair[1], "csrfmiddlewaretoken": token})
    url = "/api/v1/kiosk/pickups/lookup"
    assert client.post(url, {"code": "123456"}).status_code == 403
    response = client.post(url, {"code": "123456"}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 400 and response.json()["code"] == "code_wrong"


def test_kiosk_create_command_prints_the_key_once(db):
    factories.counter("C-ZZ2")
    out = StringIO()
    call_command("kiosk_create", "C-ZZ2", "--name", "front", stdout=out)
    key = out.getvalue().split("shown only now): ")[1].strip()
    assert Kiosk.objects.get(name="front").key_prefix == key[:8]
    with pytest.raises(CommandError):
        call_command("kiosk_create", "NOPE", stdout=StringIO())


def test_admin_creates_a_kiosk_and_shows_its_key_once(admin_client):
    counter = factories.counter("C-ZZ1")
    response = admin_client.post(
        "/admin/pickup/kiosk/add/", {"name": "desk", "counter": counter.pk}, follow=True
    )
    page = response.content.decode()
    kiosk = Kiosk.objects.get(name="desk")
    assert kiosk.key_prefix in page and "bpk_" in page
    again = admin_client.get(f"/admin/pickup/kiosk/{kiosk.pk}/change/").content.decode()
    assert "bpk_" not in again.replace(kiosk.key_prefix, "")


def test_admin_revoke_action(admin_client, kiosk):
    admin_client.post(
        "/admin/pickup/kiosk/",
        {"action": "revoke", "_selected_action": [kiosk.pk]},
    )
    kiosk.refresh_from_db()
    assert kiosk.revoked_at is not None
    page = admin_client.get("/admin/pickup/kiosk/").content.decode()
    assert kiosk.name in page and 'href="/kiosk/timing/"' in page


def test_a_kiosk_revoked_by_another_process_opens_and_hands_over_nothing(
    api, kiosk, django_capture_on_commit_callbacks
):
    """The key is kept per process (REFERENCE_CACHE_SECONDS): a revocation written elsewhere
    (here: without this process's signals) is still refused at once by the lock that a lookup
    and a handover take, with the kiosk's own error and no audit entry."""
    from pickup.models import Attempt

    with django_capture_on_commit_callbacks(execute=True):  # the key now kept by the process
        assert api.get("/api/v1/kiosk/me").status_code == 200
    Kiosk.objects.filter(pk=kiosk.pk).update(revoked_at=timezone.now(), revoked_by="admin@web2")
    for path, body in (
        ("/api/v1/kiosk/pickups/lookup", {"code": "12345678"}),
        ("/api/v1/kiosk/pickups/handover", {"code": "12345678", "id_last6": "123456",
                                            "barcodes": ["6901234567892"]}),
    ):  # fmt: skip
        response = api.post(path, body, format="json")
        assert response.status_code == 401, response.data
        assert response.data["code"] == "kiosk_key_invalid"
    assert not Attempt.objects.filter(kiosk=kiosk).exists()
    assert api.get("/api/v1/kiosk/me").status_code == 200  # served from the cache until its TTL


def test_with_the_cache_off_every_request_reads_the_key(api, kiosk, settings):
    settings.REFERENCE_CACHE_SECONDS = 0
    assert api.get("/api/v1/kiosk/me").status_code == 200
    Kiosk.objects.filter(pk=kiosk.pk).update(revoked_at=timezone.now())
    assert api.get("/api/v1/kiosk/me").status_code == 401
