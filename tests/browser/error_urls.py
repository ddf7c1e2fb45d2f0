"""The site's URLs plus two that fail on purpose, so the browser suite can see the 500 and 429
pages people get (never mounted outside the tests)."""

from django.urls import path

from config import urls as site
from config.views import too_many_requests


def boom(request):
    raise RuntimeError("a failure on purpose, for the 500 page")


def limited(request):
    return too_many_requests(request, wait_seconds=120)


handler404 = site.handler404
handler500 = site.handler500
handler403 = getattr(site, "handler403", None) or "django.views.defaults.permission_denied"
urlpatterns = [path("test-boom/", boom), path("test-limited/", limited), *site.urlpatterns]
