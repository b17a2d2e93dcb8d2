"""`make run-directory`: a throw-away OpenLDAP with demo people, and the site served against it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from directory.servers import DEMO_PEOPLE, SCOPE_GROUP, STAFF_GROUP, Slapd


def _interrupt(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    @property
    def help(self) -> str:  # shown in the language of the moment (argparse needs a str)
        return _(
            "Start a throw-away OpenLDAP (password policy on) with demo people on loopback, then "
            "serve the site against it until Ctrl-C. DEBUG only."
        )

    def add_arguments(self, parser):
        parser.add_argument("--address", default="localhost:8000", help=_("Where to serve."))

    def handle(self, *args, address, **options):
        if not settings.DEBUG:
            raise CommandError(_("The directory demo has known passwords; run it with DEBUG on."))
        folder = settings.VAR_DIR / "directory-demo"
        if folder.exists():
            import shutil

            shutil.rmtree(folder)
        server = Slapd(people=DEMO_PEOPLE, tls=True, folder=folder)
        try:
            server.start()
        except (FileNotFoundError, RuntimeError) as error:
            raise CommandError(
                _("%(error)s. Install it with: %(command)s")
                % {"error": error, "command": "apt-get install slapd ldap-utils"}
            ) from error
        env = {
            **os.environ,
            **server.environment(),
            # Members of the staff group administer the demo site.
            "LDAP_SUPERUSER_GROUP": STAFF_GROUP,
            "DATABASE_URL": f"sqlite:///{settings.VAR_DIR / 'directory-demo.sqlite3'}",
            "DJANGO_DEBUG": "1",
            # Links, the passkey domain and its origin follow the address served.
            "SSPR_SITE_URL": f"http://{address}",
        }
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        # Stopped by a service manager (SIGTERM) as by Ctrl-C: the directory stops with it.
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True)  # noqa: S603
            subprocess.run([*manage, "sync_directory"], env=env, check=True)  # noqa: S603
            self._print(server, address)
            subprocess.run([*manage, "runserver", "--noreload", address], env=env, check=False)  # noqa: S603
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
            self.stdout.write(_("The demo directory was stopped."))

    def _print(self, server: Slapd, address: str) -> None:
        write = self.stdout.write
        write("")
        write(
            _("Directory mode: OpenLDAP at %(uri)s (StartTLS, password policy on).")
            % {"uri": server.uri}
        )
        write(_("Sign in at %(path)s with a directory password:") % {"path": "/ssprsetup/"})
        for person in DEMO_PEOPLE:
            note = _("end user")
            if SCOPE_GROUP not in person.groups:
                note = _("not in the scope group: cannot use the service")
            elif STAFF_GROUP in person.groups:
                note = _("administrator (staff group): %(path)s too; two methods, no questions") % {
                    "path": "/admin/"
                }
            write(f"  {person.uid:<10} {person.password:<26} {note}")
        write(
            _(
                "The directory refuses passwords shorter than 10 characters or among the last 3; "
                "3 wrong passwords lock an account (unlock it at %(path)s)."
            )
            % {"path": "/passwordreset/"}
        )
        write(
            _("Open %(url)s — Ctrl-C stops the site and the directory.")
            % {"url": f"http://{address}/ssprsetup/"}
        )
        write("")
