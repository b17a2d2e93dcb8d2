from django.urls import path

from . import setup_views as views

urlpatterns = [
    path("", views.start, name="start"),
    path("confirm/", views.confirm_existing, name="confirm"),
    path("send/", views.send, name="send"),
    path("verify/", views.verify, name="verify"),
    path("more-time/", views.more_time, name="more_time"),
    path("cancel/", views.cancel, name="cancel"),
]
