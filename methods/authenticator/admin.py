"""The admin never shows an authenticator app's key or its QR code: django-otp's own device
pages do both, so they are taken out (docs/security.md §37). Whether a person has an app is
shown with their other methods; removing it is the person's own action or the helpdesk's."""

from django.contrib import admin
from django_otp.plugins.otp_totp.models import TOTPDevice

if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)
