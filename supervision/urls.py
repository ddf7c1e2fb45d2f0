from django.urls import path

from supervision import pipeline, views

app_name = "supervision"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("enterprises/", views.enterprise_list, name="enterprises"),
    path("enterprises/<str:code>/", views.enterprise_profile, name="enterprise"),
    path("enterprises/<str:code>/grade/", views.enterprise_grade, name="enterprise_grade"),
    path("health/", pipeline.pipeline_health, name="health"),
]
