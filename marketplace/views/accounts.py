"""Registration, sign-in and the shopper's own account page."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from marketplace.errors import (
    MarketplaceError,
    MobileAlreadyRegistered,
    ResidentIdAlreadyRegistered,
)
from marketplace.forms import LoginForm, RegisterForm, register_locked_error
from marketplace.selectors.quota import annual_quota
from marketplace.selectors.shoppers import shopper_for_user
from marketplace.services.cart import cart_merge_session
from marketplace.services.shoppers import shopper_register
from marketplace.services.signin_limits import (
    attempt_failed,
    attempts_locked_seconds,
    register_subjects,
)

# Refusals that look like someone probing which resident IDs or mobiles are registered: only
# these count against the address. Successful sign-ups and typos (a wrong check digit, two
# passwords that differ) never do, so a shop's shared Wi-Fi is not locked by its customers.
PROBING = (ResidentIdAlreadyRegistered, MobileAlreadyRegistered)


def _paused(request, seconds: int):
    """Registering from this address is paused: say why, and keep nothing typed on screen."""
    message = register_locked_error(seconds).messages[0]
    return render(
        request,
        "marketplace/register.html",
        {"form": RegisterForm(), "paused": message},
        status=429,
    )


@sensitive_post_parameters("resident_id", "password1", "password2")
@never_cache
def register(request):
    if request.user.is_authenticated and shopper_for_user(request.user):
        return redirect("marketplace:account")
    form = RegisterForm(request.POST or None)
    if request.method == "POST":
        subjects = register_subjects(request=request)
        locked = attempts_locked_seconds(subjects=subjects)
        if locked:
            return _paused(request, locked)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            shopper = shopper_register(
                real_name=data["real_name"],
                resident_id=data["resident_id"],
                mobile=data["mobile"],
                username=data["username"] or None,
                password=data["password1"],
            )
        except MarketplaceError as exc:
            if isinstance(exc, PROBING) and attempt_failed(subjects=subjects):
                return _paused(request, attempts_locked_seconds(subjects=subjects))
            field = exc.extra.get("field")
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            login(request, shopper.user, backend="marketplace.auth.PhoneOrUsernameBackend")
            cart_merge_session(shopper=shopper, session=request.session)
            messages.success(
                request,
                _("Welcome, %(name)s. Your account is ready.") % {"name": shopper.real_name},
            )
            return redirect("marketplace:account")
    return render(request, "marketplace/register.html", {"form": form})


class LoginView(auth_views.LoginView):
    template_name = "marketplace/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.is_locked:
            response.status_code = 429
        return response

    def form_valid(self, form):
        # Keep what the shopper put in the cart before signing in (the session survives login).
        response = super().form_valid(form)
        shopper = shopper_for_user(self.request.user)
        if shopper is not None:
            cart_merge_session(shopper=shopper, session=self.request.session)
        return response


class LogoutView(auth_views.LogoutView):
    pass


@login_required
def account(request):
    shopper = shopper_for_user(request.user)
    if shopper is None:
        # Staff without a shopper profile: nothing to show here.
        raise Http404
    return render(
        request,
        "marketplace/account.html",
        {"shopper": shopper, "quota": annual_quota(shopper=shopper)},
    )
