"""Real-name registration through the one service the web, the API and the kiosk share."""

import logging

import pytest
from django.contrib.auth import authenticate
from django.db import connection

from config.crypto import keyed_hash
from marketplace.errors import (
    InvalidMobile,
    InvalidPassword,
    InvalidRealName,
    InvalidResidentId,
    MobileAlreadyRegistered,
    ResidentIdAlreadyRegistered,
    UsernameTaken,
)
from marketplace.models import Shopper
from marketplace.selectors.shoppers import shopper_by_resident_id
from marketplace.services.shoppers import clean_mobile, clean_resident_id, shopper_register
from tests.marketplace.factories import BAD_CHECK_ID, VALID_IDS

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"


def register(**overrides):
    data = {
        "real_name": "王芳",
        "resident_id": VALID_IDS[0],
        "mobile": "13800138000",
        "password": PASSWORD,
    }
    data.update(overrides)
    return shopper_register(**data)


@pytest.mark.parametrize("resident_id", VALID_IDS)
def test_valid_resident_ids_are_accepted(resident_id):
    assert clean_resident_id(resident_id.lower()) == resident_id


@pytest.mark.parametrize(
    "resident_id",
    [
        BAD_CHECK_ID,  # check digit
        "11010519491231002",  # 17 characters
        "11010519491331002X",  # month 13
        "990105194912310023",  # no such region (valid check digit)
        "110105209912310029",  # born in the future (valid check digit)
        "11010519491231002Y",
        "",
    ],
)
def test_invalid_resident_ids_are_refused(resident_id):
    with pytest.raises(InvalidResidentId) as exc:
        clean_resident_id(resident_id)
    assert exc.value.extra == {"field": "resident_id"}


@pytest.mark.parametrize("mobile", ["13800138000", "+86 139-1234-5678", "19912345678"])
def test_mainland_mobile_numbers_are_accepted(mobile):
    assert len(clean_mobile(mobile)) == 11


@pytest.mark.parametrize("mobile", ["12800138000", "1380013800", "138001380001", "abc", ""])
def test_other_mobile_numbers_are_refused(mobile):
    with pytest.raises(InvalidMobile):
        clean_mobile(mobile)


def test_registration_stores_the_id_encrypted_with_a_keyed_hash():
    shopper = register()
    raw = connection.cursor()
    raw.execute("SELECT resident_id, resident_id_hash FROM marketplace_shopper")
    stored, stored_hash = raw.fetchone()
    assert VALID_IDS[0] not in stored
    assert stored_hash == keyed_hash(VALID_IDS[0])
    assert Shopper.objects.get().resident_id == VALID_IDS[0]
    assert shopper.masked_id == "**************002X"
    assert shopper_by_resident_id(VALID_IDS[0].lower()) == shopper


def test_one_account_per_resident_id_whatever_the_case_or_spaces():
    register()
    with pytest.raises(ResidentIdAlreadyRegistered):
        register(resident_id=" " + VALID_IDS[0].lower(), mobile="13900139000")
    assert Shopper.objects.count() == 1


def test_duplicate_mobile_is_refused_and_nothing_is_half_written():
    from django.contrib.auth.models import User

    register()
    with pytest.raises(MobileAlreadyRegistered):
        register(resident_id=VALID_IDS[1])
    assert Shopper.objects.count() == 1
    assert User.objects.count() == 1


def test_weak_password_is_refused_before_anything_is_written():
    from django.contrib.auth.models import User

    with pytest.raises(InvalidPassword) as exc:
        register(password="123")
    assert exc.value.extra["field"] == "password"
    assert User.objects.count() == 0


def test_taken_username_is_refused():
    register(username="lucy")
    with pytest.raises(UsernameTaken):
        register(username="LUCY", resident_id=VALID_IDS[1], mobile="13900139000")


def test_real_name_must_look_like_a_name():
    with pytest.raises(InvalidRealName):
        register(real_name="X")


def test_shopper_signs_in_with_mobile_or_username():
    shopper = register(username="fang")
    assert authenticate(username="13800138000", password=PASSWORD) == shopper.user
    assert authenticate(username="fang", password=PASSWORD) == shopper.user
    assert authenticate(username="fang", password="wrong-password") is None


def test_walk_in_registration_without_password_cannot_sign_in():
    shopper = register(password=None)
    assert not shopper.user.has_usable_password()
    assert shopper.user.username == "13800138000"


def test_the_resident_id_never_reaches_the_logs(caplog):
    caplog.set_level(logging.DEBUG)
    register()
    with pytest.raises(ResidentIdAlreadyRegistered):
        register(mobile="13900139000")
    assert VALID_IDS[0] not in caplog.text
    # Production's JSON lines (every field of every record, extras included) mask it too.
    from config.logging import JsonFormatter

    as_json = "\n".join(JsonFormatter().format(record) for record in caplog.records)
    assert VALID_IDS[0] not in as_json and VALID_IDS[0].lower() not in as_json
