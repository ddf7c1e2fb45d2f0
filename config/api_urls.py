"""Every app's API under /api/v1/, collected in one place."""

from django.urls import include, path

urlpatterns = [
    path("", include("bonded.api_urls")),
    path("customs/", include("customs.api_urls")),
    path("", include("marketplace.api_urls")),
    path("kiosk/", include("pickup.api_urls")),
    path("dispatch/", include("dispatch.api_urls")),
]
