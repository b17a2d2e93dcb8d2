from __future__ import annotations

from django.urls import include, path

from methods.registry import REGISTRY

from . import views

app_name = "passwordreset"

urlpatterns = [
    path("", views.start, name="start"),
    path("check/", views.challenge, name="challenge"),
    path("action/", views.action, name="action"),
    path("methods/", views.methods, name="methods"),
    path("finish/", views.finish, name="finish"),
    path("finish/strength/", views.strength, name="strength"),
    path("done/", views.done, name="done"),
    path("more-time/", views.more_time, name="more_time"),
    path("prove/", views.prove, name="prove"),
    # Methods with pages of their own (methods/base.py, reset_urlconf).
    *[
        path(
            f"{method.slug}/",
            include((method.reset_urlconf, method.key)),
            {"method_key": method.key},
        )
        for method in REGISTRY.values()
        if method.reset_urlconf
    ],
]
