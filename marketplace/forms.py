"""Forms only shape input; the services decide (and raise DomainError with the field name)."""

import math

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext_lazy as _

from marketplace.errors import MarketplaceError
from marketplace.selectors.catalog import SORTS
from marketplace.services.shoppers import clean_mobile, clean_real_name, clean_resident_id
from marketplace.services.signin_limits import (
    attempt_failed,
    attempts_clear,
    attempts_locked_seconds,
    signin_subjects,
)


def register_locked_error(seconds: int) -> ValidationError:
    """What a person registering from a locked address reads: what happened, in their words."""
    minutes = max(1, math.ceil(seconds / 60))
    return ValidationError(
        ngettext(
            "Many registrations from this network were just refused because the resident ID or "
            "mobile number is already registered. To protect people's identities, registering "
            "from here is paused for %(minutes)d minute. If you already have an account, sign "
            "in instead.",
            "Many registrations from this network were just refused because the resident ID or "
            "mobile number is already registered. To protect people's identities, registering "
            "from here is paused for %(minutes)d minutes. If you already have an account, sign "
            "in instead.",
            minutes,
        )
        % {"minutes": minutes},
        code="locked",
    )


def locked_error(seconds: int) -> ValidationError:
    minutes = max(1, math.ceil(seconds / 60))
    return ValidationError(
        ngettext(
            "Too many failed attempts. For your safety this is locked; try again in %(minutes)d "
            "minute.",
            "Too many failed attempts. For your safety this is locked; try again in %(minutes)d "
            "minutes.",
            minutes,
        )
        % {"minutes": minutes},
        code="locked",
    )


def _service_check(clean, value):
    """Run one of the registration service's own field checks, as a form error: the form shows
    every field's problem at once instead of the service's first one."""
    try:
        return clean(value)
    except MarketplaceError as exc:
        raise ValidationError(exc.message, code=exc.code) from None


class RegisterForm(forms.Form):
    """Shows every field's error at once and keeps what the person typed, except the password
    (never rendered back). The resident ID is kept too: it is their own input on their own
    screen, the page is sent `Cache-Control: no-store` (views.accounts.register), no error
    message ever repeats it, and everywhere it is shown afterwards it is masked to the last 4."""

    real_name = forms.CharField(
        label=_("Real name"),
        max_length=50,
        help_text=_("Exactly as on your resident ID card; customs checks it with every order."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    resident_id = forms.CharField(
        label=_("Resident ID number"),
        max_length=18,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}
        ),
        help_text=_("18 characters. Stored encrypted; we only ever show the last 4."),
    )
    mobile = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    username = forms.CharField(
        label=_("Username (optional)"),
        max_length=150,
        required=False,
        help_text=_("Leave empty to sign in with your mobile number."),
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    def clean_real_name(self):
        return _service_check(clean_real_name, self.cleaned_data["real_name"])

    def clean_resident_id(self):
        return _service_check(clean_resident_id, self.cleaned_data["resident_id"])

    def clean_mobile(self):
        return _service_check(clean_mobile, self.cleaned_data["mobile"])

    def clean(self):
        data = super().clean()
        password = data.get("password1")
        if password and password != data.get("password2"):
            self.add_error("password2", _("The two passwords differ; type the same one twice."))
        elif password:
            user = get_user_model()(
                username=data.get("username") or data.get("mobile") or "",
                first_name=(data.get("real_name") or "")[:150],
            )
            try:
                validate_password(password, user)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return data


class SignInLimitMixin:
    """Counts failed sign-ins per name and per address (marketplace.services.signin_limits);
    a locked name or address is refused before the password is even checked."""

    def clean(self):
        subjects = signin_subjects(request=self.request, username=self.data.get("username", ""))
        locked = attempts_locked_seconds(subjects=subjects)
        if locked:
            raise locked_error(locked)
        try:
            data = super().clean()
        except ValidationError as exc:
            locked = attempt_failed(subjects=subjects)
            if locked:
                raise locked_error(locked) from exc
            raise
        attempts_clear(subjects=[s for s in subjects if s.kind == "signin-name"])
        return data

    @property
    def is_locked(self) -> bool:
        return any(e.code == "locked" for e in self.non_field_errors().as_data())


class StaffLoginForm(SignInLimitMixin, AdminAuthenticationForm):
    """The admin's sign-in, under the same limits as the storefront's."""


class LoginForm(SignInLimitMixin, AuthenticationForm):
    username = forms.CharField(
        label=_("Mobile number or username"),
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    error_messages = {
        "invalid_login": _(
            "That mobile number or username and password do not match. Check both and try again."
        ),
        "inactive": _("This account is disabled. Ask the store for help."),
    }


SORT_CHOICES = [
    ("newest", _("Newest")),
    ("price", _("Price: low to high")),
    ("-price", _("Price: high to low")),
    ("name", _("Name")),
]
assert {key for key, _label in SORT_CHOICES} <= set(SORTS)


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    category = forms.SlugField(label=_("Category"), required=False)
    brand = forms.SlugField(label=_("Brand"), required=False)
    origin = forms.RegexField(
        label=_("Origin"), regex=r"^[A-Za-z]{2}$", required=False, max_length=2
    )
    in_stock = forms.BooleanField(label=_("In stock only"), required=False)
    sort = forms.ChoiceField(label=_("Sort by"), choices=SORT_CHOICES, required=False)

    def filters(self) -> dict:
        """The cleaned filters; anything malformed is simply ignored (a search never fails)."""
        self.is_valid()
        data = self.cleaned_data  # only the fields that validated
        return {
            "q": data.get("q", ""),
            "category": data.get("category", ""),
            "brand": data.get("brand", ""),
            "origin": data.get("origin", ""),
            "in_stock": data.get("in_stock", False),
            "sort": data.get("sort") or "newest",
        }


class CheckoutForm(forms.Form):
    MODES = [("pickup", _("Counter pickup (ready in minutes)")), ("delivery", _("Home delivery"))]
    DELIVERY_FIELDS = ("consignee", "phone", "address", "district")

    mode = forms.ChoiceField(label=_("Delivery"), choices=MODES, widget=forms.RadioSelect)
    counter_code = forms.ChoiceField(label=_("Pickup counter"), required=False)
    consignee = forms.CharField(label=_("Consignee"), max_length=50, required=False)
    phone = forms.CharField(label=_("Consignee mobile"), max_length=20, required=False)
    address = forms.CharField(label=_("Delivery address"), max_length=300, required=False)
    district = forms.CharField(label=_("District"), max_length=100, required=False)

    def __init__(self, *args, counters=(), **kwargs):
        super().__init__(*args, **kwargs)
        # The counter's name in the page's language only (the label mixed both).
        chinese = (get_language() or "").startswith("zh")
        self.fields["counter_code"].choices = [("", _("Choose a counter"))] + [
            (c.code, f"{c.name_zh if chinese else c.name_en} ({c.code})") for c in counters
        ]
        if not self.is_bound:
            self.initial.setdefault("mode", "pickup")
            if counters:
                self.initial.setdefault("counter_code", counters[0].code)

    def clean(self):
        data = super().clean()
        if data.get("mode") == "pickup" and not data.get("counter_code"):
            self.add_error("counter_code", _("Choose a pickup counter."))
        if data.get("mode") == "delivery":
            for name in ("consignee", "phone", "address"):
                if not data.get(name):
                    self.add_error(name, _("Needed for home delivery."))
        return data
