"""Real-name registration: one account per resident ID, shared by the web, the API and the kiosk."""

import datetime as dt
import re

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from stdnum import numdb
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

from config.crypto import keyed_hash
from marketplace.errors import (
    InvalidMobile,
    InvalidPassword,
    InvalidRealName,
    InvalidResidentId,
    InvalidUsername,
    MobileAlreadyRegistered,
    ResidentIdAlreadyRegistered,
    UsernameTaken,
)
from marketplace.models import Shopper

MOBILE = re.compile(r"^1[3-9]\d{9}$")
USERNAME = re.compile(r"^[\w.@+-]{3,150}$")


def clean_resident_id(raw: str) -> str:
    """18 characters: a known region code, a real birth date in the past and the check
    character, all checked with python-stdnum. A valid checksum does not prove a real person
    (DOMAIN.md); a real deployment plugs in a verification service.

    The region must exist in stdnum's table of codes, in any period: stdnum's own `validate`
    also requires the county to have existed in the birth year, which refuses real older
    cards (440524188001010014: the code dates from after 1880, the holder's birth year).
    """
    value = ric.compact(raw or "").strip().replace(" ", "").upper()
    if len(value) != 18 or not value[:17].isdigit():
        raise InvalidResidentId()
    try:
        if value[-1] != ric.calc_check_digit(value):
            raise InvalidResidentId()
        born = ric.get_birth_date(value)
    except StdnumError:
        raise InvalidResidentId() from None
    region = {
        k: v for _part, props in numdb.get("cn/loc").info(value[:6]) for k, v in props.items()
    }
    if "county" not in region:
        raise InvalidResidentId()
    if born > timezone.localdate() or born < dt.date(1800, 1, 1):
        raise InvalidResidentId()
    return value


def clean_mobile(raw: str) -> str:
    value = re.sub(r"[\s-]", "", raw or "")
    if value.startswith("+86"):
        value = value[3:]
    if not MOBILE.match(value):
        raise InvalidMobile()
    return value


def clean_real_name(raw: str) -> str:
    value = " ".join((raw or "").split())
    if not 2 <= len(value) <= 50 or any(ch.isdigit() for ch in value):
        raise InvalidRealName()
    return value


def shopper_register(
    *,
    real_name: str,
    resident_id: str,
    mobile: str,
    password: str | None = None,
    username: str | None = None,
) -> Shopper:
    """Create the Django user and the shopper in one transaction.

    `password=None` (a walk-in at the kiosk) gives an account that cannot sign in until a
    password is set. `username` defaults to the mobile number; both sign in.
    """
    real_name = clean_real_name(real_name)
    resident_id = clean_resident_id(resident_id)
    mobile = clean_mobile(mobile)
    username = (username or "").strip() or mobile
    if not USERNAME.match(username):
        raise InvalidUsername()

    User = get_user_model()
    id_hash = keyed_hash(resident_id)
    if Shopper.objects.filter(resident_id_hash=id_hash).exists():
        raise ResidentIdAlreadyRegistered()
    if Shopper.objects.filter(mobile=mobile).exists():
        raise MobileAlreadyRegistered()
    if User.objects.filter(username__iexact=username).exists():
        raise UsernameTaken()
    user = User(username=username, first_name=real_name[:150])
    if password is None:
        user.set_unusable_password()
    else:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise InvalidPassword(exc.messages) from None
        user.set_password(password)

    try:
        with transaction.atomic():
            user.save()
            return Shopper.objects.create(
                user=user,
                real_name=real_name,
                resident_id=resident_id,
                resident_id_hash=id_hash,
                mobile=mobile,
            )
    except IntegrityError:
        # Lost a race with a concurrent registration of the same ID, phone or username.
        if Shopper.objects.filter(resident_id_hash=id_hash).exists():
            raise ResidentIdAlreadyRegistered() from None
        if Shopper.objects.filter(mobile=mobile).exists():
            raise MobileAlreadyRegistered() from None
        raise UsernameTaken() from None


def shopper_identity_matches(*, shopper, last6: str = "", full_id: str = "") -> bool:
    """The kiosk's and the payment's identity check. Compares without ever logging the ID:
    `full_id` through its keyed hash, `last6` against the last six characters."""
    import hmac

    if full_id:
        candidate = keyed_hash((full_id or "").strip().replace(" ", "").upper())
        return hmac.compare_digest(candidate, shopper.resident_id_hash)
    if last6:
        value = last6.strip().upper()
        return len(value) == 6 and hmac.compare_digest(value, (shopper.resident_id or "")[-6:])
    return False
