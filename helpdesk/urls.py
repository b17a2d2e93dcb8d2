from __future__ import annotations

from django.urls import path

from . import views

app_name = "helpdesk"

urlpatterns = [
    path("", views.status_list, name="status"),
    path("export.csv", views.export, name="export"),
    path("report/", views.activity_report, name="report"),
    path("users/<int:user_id>/", views.user_detail, name="user"),
    path("users/<int:user_id>/verify/", views.verify_start, name="verify_start"),
    path("users/<int:user_id>/verify/code/", views.verify_code, name="verify_code"),
]
