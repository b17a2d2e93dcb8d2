"""Seal the keys of authenticator apps set up before keys were kept encrypted: each django-otp
device gets its sealed key, and its own key column only the marker (docs/security.md §37)."""

from binascii import unhexlify

from django.db import migrations

SEALED = "sealed"


def seal_existing(apps, schema_editor):
    from sspr_site import field_keys

    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    AuthenticatorDevice = apps.get_model("sspr_authenticator", "AuthenticatorDevice")
    for device in TOTPDevice.objects.exclude(key=SEALED).iterator():
        sealed = AuthenticatorDevice(
            totpdevice_ptr_id=device.pk, sealed_key=field_keys.seal(unhexlify(device.key))
        )
        sealed.save_base(raw=True)  # the extension row only; the device row exists
        TOTPDevice.objects.filter(pk=device.pk).update(key=SEALED)


def open_again(apps, schema_editor):
    from sspr_site import field_keys

    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    AuthenticatorDevice = apps.get_model("sspr_authenticator", "AuthenticatorDevice")
    for sealed in AuthenticatorDevice.objects.all().iterator():
        key = field_keys.open_sealed(sealed.sealed_key).hex()
        TOTPDevice.objects.filter(pk=sealed.pk).update(key=key)
        sealed.delete(keep_parents=True)


class Migration(migrations.Migration):
    dependencies = [("sspr_authenticator", "0001_sealed_keys")]

    operations = [migrations.RunPython(seal_existing, open_again)]
