from django.urls import path

from pickup import views

app_name = "pickup"
urlpatterns = [
    path("", views.kiosk_home, name="kiosk"),
    path("sign-in", views.kiosk_signin, name="signin"),
    path("sign-out", views.kiosk_signout, name="signout"),
    path("timing/", views.pickup_timing_view, name="timing"),
]
