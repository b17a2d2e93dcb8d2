from __future__ import annotations

from django.urls import include, path

from methods.registry import REGISTRY

from . import views

app_name = "registration"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("signin/", views.SignInView.as_view(), name="signin"),
    path("signout/", views.SignOutView.as_view(), name="signout"),
    path("confirm-password/", views.confirm_password, name="confirm_password"),
    path("finish/", views.finish, name="finish"),
    path("password/", views.change_password, name="password"),
    path("password/strength/", views.password_strength, name="password_strength"),
    path("skip/", views.skip, name="skip"),
    path("questions/", views.questions, name="questions"),
    # Methods with pages of their own (methods/base.py, setup_urlconf).
    *[
        path(f"{method.slug}/", include((method.setup_urlconf, method.key)))
        for method in REGISTRY.values()
        if method.setup_urlconf
    ],
    path("<slug:slug>/", views.method_start, name="method_start"),
    path("<slug:slug>/confirm/", views.method_confirm_existing, name="method_confirm_existing"),
    path("<slug:slug>/send/", views.method_send, name="method_send"),
    path("<slug:slug>/verify/", views.method_verify, name="method_verify"),
    path("<slug:slug>/remove/", views.method_remove, name="method_remove"),
]
