"""Create demo accounts for trying the service locally, and print how to sign in."""

from __future__ import annotations

import json
import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from methods.models import OfficePhone
from policy.models import Policy
from sspr_site.checks import host_fits_rp_id
from sspr_site.conf import app_settings as site_settings

DEMO_USERS = [
    # username, first, last, email, role, office phone
    ("admin", "Ada", "Admin", "admin@example.org", "administrator", ""),
    ("helpdesk", "Hugo", "Helper", "helpdesk@example.org", "helpdesk", ""),
    ("alice", "Alice", "Andersen", "alice@example.org", "end user", ""),
    ("bob", "Bob", "Baker", "bob@example.org", "end user", "+442071838750"),
    ("carol", "Carol", "Castillo", "carol@example.org", "end user", ""),
]


def demo_passwords() -> dict[str, str]:
    """The demo passwords, made once and kept in the development folder (var/), so they stay
    the same from one `make run` to the next."""
    path = settings.VAR_DIR / "demo-passwords.json"
    known = json.loads(path.read_text()) if path.exists() else {}
    for username, *_rest in DEMO_USERS:
        known.setdefault(username, f"demo-{secrets.token_urlsafe(9)}")
    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(known, indent=1))
    path.chmod(0o600)
    return known


class Command(BaseCommand):
    @property
    def help(self) -> str:  # shown in the language of the moment (argparse needs a str)
        return _("Create (or refresh) demo accounts and print their sign-ins. DEBUG only.")

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help=_("Run even when DEBUG is off (never in production)."),
        )
        parser.add_argument(
            "--address",
            default=None,
            help=_("Where the site is served, for the printed links (default: SSPR_SITE_URL)."),
        )

    def handle(self, *args, force=False, address=None, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                _("seed_demo creates accounts with known passwords; run it with DEBUG on.")
            )
        User = get_user_model()
        passwords = demo_passwords()
        rows = []
        with transaction.atomic():
            policy = Policy.load()
            if not policy.helpdesk_contact:
                policy.helpdesk_contact = "helpdesk@example.org"
                policy.save()
            # Made again if an administrator deleted it (the helpdesk's migration made it).
            helpdesk_group, _made = Group.objects.get_or_create(name="Helpdesk")
            helpdesk_group.permissions.add(
                Permission.objects.get(codename="use_helpdesk", content_type__app_label="helpdesk")
            )
            for username, first, last, email, role, office in DEMO_USERS:
                user, _created = User.objects.get_or_create(username=username)
                user.first_name, user.last_name, user.email = first, last, email
                user.is_staff = user.is_superuser = role == "administrator"
                user.set_password(passwords[username])
                user.save()
                if role == "helpdesk":
                    user.groups.add(helpdesk_group)
                if office:
                    OfficePhone.objects.update_or_create(user=user, defaults={"number": office})
                rows.append((username, passwords[username], role))

        where = (address or site_settings.SITE_URL).rstrip("/")
        domain = site_settings.WEBAUTHN_RP_ID
        roles = {
            "administrator": _("administrator"),
            "helpdesk": _("helpdesk"),
            "end user": _("end user"),
        }
        write = self.stdout.write
        write(
            self.style.SUCCESS(
                _("Demo accounts (kept in %(path)s):") % {"path": "var/demo-passwords.json"}
            )
        )
        for username, password, role in rows:
            write(f"  {username:<9} {password:<20} {roles[role]}")
        write("")
        write("  " + _("Registration: %(url)s") % {"url": f"{where}/ssprsetup/"})
        write(
            "  "
            + _("Administration: %(url)s (as %(admin)s)")
            % {"url": f"{where}/admin/", "admin": "admin"}
        )
        write("  " + _("Password reset: %(url)s") % {"url": f"{where}/passwordreset/"})
        write(
            "  "
            + _("Helpdesk: %(url)s (as %(helpdesk)s or %(admin)s)")
            % {"url": f"{where}/helpdesk/", "helpdesk": "helpdesk", "admin": "admin"}
        )
        write("  " + _("Codes sent by text, call or email are printed below by the server."))
        if host_fits_rp_id(urlsplit(where).hostname or "", domain):
            write(
                "  "
                + _(
                    "Passkeys work at %(url)s (for %(domain)s); a browser's own passkey, a "
                    "security key or its developer tools' virtual authenticator."
                )
                % {"url": where, "domain": domain}
            )
        else:
            write(
                self.style.WARNING(
                    "  "
                    + _(
                        "Passkeys will not work at %(url)s: the passkey domain is %(domain)s, "
                        "and browsers refuse an IP address. Serve the site by name, e.g. "
                        "%(example)s."
                    )
                    % {"url": where, "domain": domain, "example": "http://localhost:8000"}
                )
            )
        write(
            "  "
            + _(
                "The policy asks unregistered users to register after signing in; "
                "'Not now' postpones it."
            )
        )
