"""Seal every stored secret again under the newest of SSPR_FIELD_KEYS, so an older key can be
removed from the list (README, "Configuration"). Safe to run again: what is current is left."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from methods.authenticator.models import AuthenticatorDevice
from methods.models import MethodChange
from sspr_site import field_keys


class Command(BaseCommand):
    @property
    def help(self) -> str:  # shown in the language of the moment (argparse needs a str)
        return _(
            "Re-encrypt stored secrets (authenticator app keys, the values a replacement replaced "
            'for "That wasn\'t me") under the newest field key.'
        )

    def handle(self, *args, **options):
        resealed = unreadable = 0
        for pk in AuthenticatorDevice.objects.values_list("pk", flat=True).iterator():
            with transaction.atomic():
                device = AuthenticatorDevice.objects.select_for_update().filter(pk=pk).first()
                if device is None:
                    continue
                try:
                    resealed += device.reseal_if_stale()
                except field_keys.InvalidToken:
                    unreadable += 1
        changes = MethodChange.objects.exclude(previous="").values_list("pk", "previous")
        for pk, previous in changes.iterator():
            if field_keys.is_current(previous):
                continue
            try:
                fresh = field_keys.reseal(previous)
            except field_keys.InvalidToken:
                # Only a way back for seven days: one that no key opens is dropped.
                MethodChange.objects.filter(pk=pk).update(previous="")
                continue
            MethodChange.objects.filter(pk=pk, previous=previous).update(previous=fresh)
            resealed += 1
        self.stdout.write(
            _("Sealed again under the newest key: %(count)s.") % {"count": f"{resealed:,}"}
        )
        if unreadable:
            raise CommandError(
                ngettext(
                    "%(count)s authenticator key opens with none of SSPR_FIELD_KEYS: add the key "
                    "that sealed it back to the list, or its owner sets the app up again.",
                    "%(count)s authenticator keys open with none of SSPR_FIELD_KEYS: add the key "
                    "that sealed them back to the list, or their owners set their apps up again.",
                    unreadable,
                )
                % {"count": f"{unreadable:,}"}
            )
