"""The peer for the phone-setup benchmark: django-two-factor-auth's setup wizard in a default
project on the same Django, django-otp and phonenumbers as this site, with its fake gateway."""

import os
import tempfile

SECRET_KEY = "benchmark-only"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django_otp",
    "django_otp.plugins.otp_static",
    "django_otp.plugins.otp_totp",
    "formtools",
    "phonenumber_field",
    "two_factor",
    "two_factor.plugins.phonenumber",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "peer.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
# The same kind of database as the site in the same run: a file, with the same options; or, when
# DATABASE_URL names PostgreSQL, a database of its own on the same server, kept open as the
# site's connections are.
if os.environ.get("DATABASE_URL", "").startswith("postgres"):
    import dj_database_url

    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
    DATABASES["default"]["NAME"] += "_peer"
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.path.join(tempfile.mkdtemp(prefix="sspr-bench-peer-"), "peer.sqlite3"),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
            },
        }
    }
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TWO_FACTOR_SMS_GATEWAY = "two_factor.gateways.fake.Fake"
TWO_FACTOR_CALL_GATEWAY = "two_factor.gateways.fake.Fake"
LOGIN_URL = "two_factor:login"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
