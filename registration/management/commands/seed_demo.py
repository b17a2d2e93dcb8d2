"""Create demo accounts for trying the service locally, and print how to sign in."""

from __future__ import annotations

import json
import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

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
    help = "Create (or refresh) demo accounts and print their sign-ins. DEBUG only."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="Run even when DEBUG is off (never in production)."
        )
        parser.add_argument(
            "--address",
            default=None,
            help="Where the site is served, for the printed links (default: SSPR_SITE_URL).",
        )

    def handle(self, *args, force=False, address=None, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates accounts with known passwords; run it with DEBUG on."
            )
        User = get_user_model()
        passwords = demo_passwords()
        rows = []
        with transaction.atomic():
            policy = Policy.load()
            if not policy.helpdesk_contact:
                policy.helpdesk_contact = "helpdesk@example.org"
                policy.save()
            helpdesk_group = Group.objects.get(name="Helpdesk")
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
        self.stdout.write(self.style.SUCCESS("Demo accounts (kept in var/demo-passwords.json):"))
        for username, password, role in rows:
            self.stdout.write(f"  {username:<9} {password:<20} {role}")
        self.stdout.write("")
        self.stdout.write(f"  Registration: {where}/ssprsetup/")
        self.stdout.write(f"  Administration: {where}/admin/ (as admin)")
        self.stdout.write(f"  Password reset: {where}/passwordreset/")
        self.stdout.write(f"  Helpdesk: {where}/helpdesk/ (as helpdesk or admin)")
        self.stdout.write("  Codes sent by text, call or email are printed below by the server.")
        if host_fits_rp_id(urlsplit(where).hostname or "", site_settings.WEBAUTHN_RP_ID):
            self.stdout.write(
                f"  Passkeys work at {where} (for {site_settings.WEBAUTHN_RP_ID}); a browser's "
                "own passkey, a security key or its developer tools' virtual authenticator."
            )
        else:
            self.stdout.write(
                self.style.WARNING(
                    f"  Passkeys will not work at {where}: the passkey domain is "
                    f"{site_settings.WEBAUTHN_RP_ID}, and browsers refuse an IP address. "
                    "Serve the site by name, e.g. http://localhost:8000."
                )
            )
        self.stdout.write(
            "  The policy asks unregistered users to register after signing in; "
            "'Not now' postpones it."
        )
