from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from registration.forms import AdminSignInForm
from registration.language import set_language

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="registration:overview", permanent=False)),
    # Temporary access passes: /helpdesk/pass/… and /ssprsetup/pass/… (accesspass/urls.py).
    path("", include("accesspass.urls")),
    path("ssprsetup/", include("registration.urls")),
    path("passwordreset/", include("passwordreset.urls")),
    path("helpdesk/", include("helpdesk.urls")),
    # The admin's sign-in page shows a "forgotten your password" link when this name exists.
    path(
        "admin/password_reset/",
        RedirectView.as_view(pattern_name="passwordreset:start", permanent=False),
        name="admin_password_reset",
    ),
    path("admin/", admin.site.urls),
    # Django's language picker, which also stores a signed-in person's choice (README, "Languages").
    path("i18n/setlang/", set_language, name="set_language"),
]

admin.site.login_form = AdminSignInForm
admin.site.site_header = _("Self-service password reset")
admin.site.site_title = _("Password reset administration")
admin.site.index_title = _("Administration")

# A database or cache that cannot be reached: 503 and the "temporarily unavailable" page.
handler500 = "sspr_site.outage.server_error"
