"""Create demo accounts for trying the service locally, and print how to sign in."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from methods.models import OfficePhone
from registration.models import Policy

DEMO_USERS = [
    # username, first, last, email, staff, office phone
    ("admin", "Ada", "Admin", "admin@example.org", True, ""),
    ("alice", "Alice", "Andersen", "alice@example.org", False, ""),
    ("bob", "Bob", "Baker", "bob@example.org", False, "+442071838750"),
    ("carol", "Carol", "Castillo", "carol@example.org", False, ""),
]


class Command(BaseCommand):
    help = "Create (or refresh) demo accounts with new passwords, and print them. DEBUG only."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="Run even when DEBUG is off (never in production)."
        )

    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates accounts with known passwords; run it with DEBUG on."
            )
        User = get_user_model()
        rows = []
        with transaction.atomic():
            policy = Policy.load()
            if not policy.helpdesk_contact:
                policy.helpdesk_contact = "helpdesk@example.org"
                policy.save()
            for username, first, last, email, staff, office in DEMO_USERS:
                user, _created = User.objects.get_or_create(username=username)
                user.first_name, user.last_name, user.email = first, last, email
                user.is_staff = user.is_superuser = staff
                password = f"demo-{secrets.token_urlsafe(9)}"
                user.set_password(password)
                user.save()
                if office:
                    OfficePhone.objects.update_or_create(user=user, defaults={"number": office})
                rows.append((username, password, "administrator" if staff else "end user"))

        self.stdout.write(self.style.SUCCESS("Demo accounts (passwords are new on every run):"))
        for username, password, role in rows:
            self.stdout.write(f"  {username:<8} {password:<20} {role}")
        self.stdout.write("")
        self.stdout.write("  Registration: http://127.0.0.1:8000/ssprsetup/")
        self.stdout.write("  Administration: http://127.0.0.1:8000/admin/")
        self.stdout.write("  Password reset: http://127.0.0.1:8000/passwordreset/")
        self.stdout.write("  Helpdesk: http://127.0.0.1:8000/helpdesk/ (as admin)")
        self.stdout.write("  Codes sent by text, call or email are printed below by the server.")
        self.stdout.write(
            "  The policy asks unregistered users to register after signing in; "
            "'Not now' postpones it."
        )
