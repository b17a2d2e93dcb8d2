"""`manage.py probe_reset`: one synthetic reset of the probe account (sspr_site.probe).

Run it from cron or a timer every few minutes; its result shows in /metrics
(sspr_probe_reset_success, sspr_probe_reset_duration_seconds). `--textfile PATH` also writes
them for node_exporter's textfile collector. Exits 1 when the reset failed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from sspr_site import probe


class Command(BaseCommand):
    @property
    def help(self) -> str:  # shown in the language of the moment (argparse needs a str)
        return _("Reset the probe account's password through the real pages and delivery.")

    def add_arguments(self, parser):
        parser.add_argument(
            "--wait", type=float, default=120, help=_("Seconds to wait for the code.")
        )
        parser.add_argument("--textfile", help=_("Also write the result here (Prometheus format)."))

    def handle(self, *args, wait: float, textfile: str | None, **options):
        result = probe.run(wait=wait)
        if textfile:
            _write_textfile(Path(textfile), result)
        # One key=value line for logs and alerts to match: never translated.
        line = f"probe_reset success={int(result.success)} duration={result.duration:.2f}s"
        if not result.success:
            raise CommandError(f"{line} failed at {result.step}")
        self.stdout.write(line)


def _write_textfile(path: Path, result: probe.Result) -> None:
    text = (
        "# TYPE sspr_probe_reset_success gauge\n"
        f"sspr_probe_reset_success {int(result.success)}\n"
        "# TYPE sspr_probe_reset_duration_seconds gauge\n"
        f"sspr_probe_reset_duration_seconds {result.duration:.3f}\n"
    )
    # Written whole, then renamed: the collector never reads half a file.
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False) as handle:
        handle.write(text)
    os.replace(handle.name, path)
