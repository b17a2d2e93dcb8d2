from django.urls import path

from . import views

urlpatterns = [
    path("", views.setup, name="start"),
    path("<int:key_id>/remove/", views.remove_one, name="remove_one"),
]
