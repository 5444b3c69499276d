from django.urls import path

from units import api

urlpatterns = [
    path("me/", api.MeView.as_view(), name="api-me"),
    path("units/", api.MyUnitsView.as_view(), name="api-units"),
]
