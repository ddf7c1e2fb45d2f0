from django.urls import path

from pickup import views

app_name = "pickup"
urlpatterns = [
    path("", views.kiosk_home, name="kiosk"),
]
