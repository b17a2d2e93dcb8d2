from __future__ import annotations

from django.urls import path

from . import password_life, views

app_name = "helpdesk"

urlpatterns = [
    path("", views.status_list, name="status"),
    path("export.csv", views.export, name="export"),
    path("report/", views.activity_report, name="report"),
    path("passwords/", password_life.password_life, name="password_life"),
    path("passwords/export.csv", password_life.password_life_export, name="password_life_export"),
    path("users/<int:user_id>/", views.user_detail, name="user"),
    path("users/<int:user_id>/events/", views.user_events, name="events"),
    path("users/<int:user_id>/verify/", views.verify_start, name="verify_start"),
    path("users/<int:user_id>/resume/", views.resume_self_service, name="resume"),
    path("users/<int:user_id>/reset-block/", views.lift_reset_block, name="lift_reset_block"),
    path("users/<int:user_id>/verify/code/", views.verify_code, name="verify_code"),
]
