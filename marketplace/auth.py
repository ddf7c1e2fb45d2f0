"""Sign in with a mobile number or a username, and a password; API tokens read cheaply."""

import copy
import threading
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication


class PhoneOrUsernameBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if not username or password is None:
            return None
        login = username.strip()
        User = get_user_model()
        user = User.objects.filter(shopper__mobile=login).first()
        if user is None:
            user = User.objects.filter(username=login).first()
        if user is None:
            User().set_password(password)  # same time as a wrong password: no user probing
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


_tokens: dict[str, tuple[float, object]] = {}
_tokens_lock = threading.Lock()
_MAX_TOKENS = 10_000


class CachedTokenAuthentication(TokenAuthentication):
    """DRF's token check, with the user's shopper joined in (the shopper APIs need it next:
    `shopper_for_user` then reads nothing) and the answer kept per process for
    TOKEN_AUTH_CACHE_SECONDS, so a shopper's app polling or placing costs no statement for its
    token. Each request gets its own copy of the user and shopper. Saving or deleting any
    token, user or shopper empties this process's entries (signals below); other processes see
    the change within the TTL."""

    def authenticate_credentials(self, key):
        ttl = settings.TOKEN_AUTH_CACHE_SECONDS
        now = time.monotonic()
        if ttl > 0:
            hit = _tokens.get(key)
            if hit is not None and hit[0] > now:
                user = copy.deepcopy(hit[1])
                return user, user.auth_token
        model = self.get_model()
        try:
            token = model.objects.select_related("user", "user__shopper").get(key=key)
        except model.DoesNotExist:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        user = token.user
        user.auth_token = token  # the reverse cache, kept with the copy
        if ttl > 0:
            with _tokens_lock:
                if len(_tokens) >= _MAX_TOKENS:
                    _tokens.clear()
                _tokens[key] = (now + ttl, copy.deepcopy(user))
        return user, token


def tokens_forget(**_kwargs) -> None:
    with _tokens_lock:
        _tokens.clear()


def _connect() -> None:
    from rest_framework.authtoken.models import Token

    from marketplace.models import Shopper

    for model in (Token, get_user_model(), Shopper):
        post_save.connect(tokens_forget, sender=model, dispatch_uid=f"tokens-{model.__name__}")
        post_delete.connect(tokens_forget, sender=model, dispatch_uid=f"tokens-d-{model.__name__}")
