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
    path("questions/", views.questions, name="questions"),
    path("finish/", views.finish, name="finish"),
    path("finish/strength/", views.strength, name="strength"),
    path("done/", views.done, name="done"),
    # Methods with pages of their own (methods/base.py, reset_urlconf).
    *[
        path(f"{method.slug}/", include((method.reset_urlconf, method.key)))
        for method in REGISTRY.values()
        if method.reset_urlconf
    ],
    path("<slug:slug>/", views.method_send, name="method_send"),
    path("<slug:slug>/code/", views.method_code, name="method_code"),
]
