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
    path("not-me/<str:token>/", views.not_me_view, name="not_me"),
    # Methods with pages of their own (methods/base.py, setup_urlconf).
    *[
        path(
            f"{method.slug}/",
            include((method.setup_urlconf, method.key)),
            {"method_key": method.key},
        )
        for method in REGISTRY.values()
        if method.setup_urlconf
    ],
    path("<slug:slug>/remove/", views.method_remove, name="method_remove"),
]
