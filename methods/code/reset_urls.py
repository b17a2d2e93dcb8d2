from django.urls import path

from . import reset_views as views

urlpatterns = [
    path("", views.send, name="start"),
    path("code/", views.code, name="code"),
    path("code/more-time/", views.more_time, name="more_time"),
]
