from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.health import healthz
from marketplace.forms import StaffLoginForm
from ops.views import metrics

handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
handler403 = "config.views.permission_denied"

admin.site.site_header = "Bondport"
admin.site.site_title = "Bondport"
admin.site.login_form = StaffLoginForm

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        # Split: the init script is its own request, so the strict CSP needs no inline script.
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api_docs.html"),
        name="api-docs",
    ),
    path("api/v1/", include("config.api_urls")),
    path("kiosk/", include("pickup.urls")),
    path("supervision/", include("supervision.urls")),
    path("", include("dispatch.urls")),
    path("", include("marketplace.urls")),
]
