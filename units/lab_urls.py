from django.urls import path

from units import views

urlpatterns = [
    path("", views.workspace, name="workspace"),
]
