"""Sign in with a mobile number or a username, and a password."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


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
