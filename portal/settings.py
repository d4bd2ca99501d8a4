"""One settings module, driven by environment variables with safe defaults.

Production sets DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS (if more than the portal's domains),
DATABASE_URL, REDIS_URL, EMAIL_URL, SUBSCRIPTIONS_PAYMENT_GATEWAY and PORTAL_BASE_DOMAIN;
`manage.py check --deploy` passes with those set, and the production server refuses to start
without the secret key, the shared cache, the mail server or the gateway (portal/production.py).
Debugging is off unless DJANGO_DEBUG=1 (`make run` and the tests set it). Nothing else
differs between environments. URLs, booleans, numbers and lists are read with django-environ;
free-form strings (the secret key) as they are (`Env.text`, portal/env.py), because
django-environ would take a value that starts with `$` for the name of another variable.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from portal import embedded_postgres, logs, registration_numbers
from portal.env import Env, development_port

BASE_DIR = Path(__file__).resolve().parent.parent

env = Env()  # portal/env.py: how each kind of value is read

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.text("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set DJANGO_SECRET_KEY when DJANGO_DEBUG is off.")
    SECRET_KEY = "development-only-secret-key-not-for-production-use-0123456789"

# The public site lives on PORTAL_BASE_DOMAIN, each organisation on <slug>.<base>.
PORTAL_BASE_DOMAIN = env.text("PORTAL_BASE_DOMAIN", "localhost")
PORTAL_SCHEME = env.text("PORTAL_SCHEME", "http" if DEBUG else "https")
# While debugging, the port `make run` serves on: commands run beside it link there too.
PORTAL_PORT = env.text("PORTAL_PORT", development_port(BASE_DIR / ".data") if DEBUG else "")
ALLOWED_HOSTS = [
    PORTAL_BASE_DOMAIN,
    f".{PORTAL_BASE_DOMAIN}",
    *env.list("DJANGO_ALLOWED_HOSTS", cast=str.strip, default=[]),
]

# --- Apps: what lives in the public schema and what in each organisation's schema ---
SHARED_APPS = [
    "portal",  # the tenant registry: Organisation, Domain
    "django.contrib.admin",
    # After the admin: django-tenants' own admin index and app list (inline styles, which
    # the Content-Security-Policy refuses) give way to Django's.
    "django_tenants",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # The floors, bottom to top (pyproject.toml's import-linter contract): the audit log,
    # then accounts, subscriptions and the organisations that stand on both.
    "audit",
    "accounts",  # the public schema's user table holds vendor staff
    "subscriptions",
    "organisations",
    # Vendor staff sign in with allauth too (and its second factor), on the public site.
    "allauth",
    "allauth.account",
    "allauth.mfa",
    # The job queue: its tables live in public only, where every worker reads them
    # (listed in TENANT_APPS too, each schema would get a queue that no worker reads).
    "procrastinate.contrib.django",
]
TENANT_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "accounts",  # each organisation's own users and departments
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "portal.Organisation"
TENANT_DOMAIN_MODEL = "portal.Domain"
PUBLIC_SCHEMA_URLCONF = "portal.urls_public"
ROOT_URLCONF = "portal.urls_tenants"
# A closed organisation's site (portal.middleware): the page that says so, and its export.
CLOSED_SITE_URLCONF = "portal.urls_closed"
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
# Set the search_path once per schema switch, not before every query.
TENANT_LIMIT_SET_CALLS = True

MIDDLEWARE = [
    # Before the organisation is found, so that every response carries the security
    # headers, the "no organisation here" page included.
    "portal.middleware.ContentSecurityPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "portal.middleware.OrganisationMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal.middleware.RefuseNulMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "portal.middleware.StaffSignInMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
                "accounts.context_processors.menu",
                "subscriptions.context_processors.entitlements",
            ],
            # {% translate "..." %} and {% url 'name' %} rendered once per language or site:
            # "i18n" is ours on purpose (templates.W003 below).
            "libraries": {"i18n": "portal.templatetags.rendered_once"},
            "builtins": ["portal.templatetags.rendered_once"],
        },
    },
]

# "A library name used for two modules": the TEMPLATES' "i18n" above, Django's tags under
# their own name, each rendered once where its text never changes.
SILENCED_SYSTEM_CHECKS = ["templates.W003"]

WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

# --- Database: DATABASE_URL, else the embedded server under .data/ ---
# Two roles (portal/db/roles.py): the app connects as one that owns nothing (DATABASE_URL);
# the deploy's migrations as the owner (DATABASE_OWNER_URL; without it, DATABASE_URL's).
# Without DATABASE_URL, the embedded server: loading the settings starts nothing; what needs
# the database starts it and sets DATABASE_URL (portal/embedded_postgres.py).
if "DATABASE_URL" in env:
    _database = env.db_url("DATABASE_URL")
    _owner = env.db_url("DATABASE_OWNER_URL") if "DATABASE_OWNER_URL" in env else _database
else:
    _database = embedded_postgres.not_started(embedded_postgres.APP_ROLE)
    _owner = embedded_postgres.not_started(embedded_postgres.OWNER_ROLE)
PORTAL_EMBEDDED_DATA_DIR = BASE_DIR / ".data"
PORTAL_DATABASE_APP_ROLE = str(_database["USER"])
PORTAL_DATABASE_OWNER = {key: _owner[key] for key in ("NAME", "USER", "PASSWORD", "HOST", "PORT")}
# Connections persist across requests (a new one per request was 43% of the dashboard's time
# under gunicorn) and are checked before a request reuses them. A request never inherits the
# previous one's schema: the middleware chooses the schema on every request.
DATABASES = {
    "default": {
        **_database,
        "ENGINE": "portal.db.postgresql_backend",
        "CONN_MAX_AGE": env.int("DATABASE_CONN_MAX_AGE", default=60),
        "CONN_HEALTH_CHECKS": True,
    }
}
# A connection is closed between requests once it has visited this many organisations'
# schemas (0: never): a PostgreSQL session keeps ~60 KB of catalog per schema it touched, so
# the bound is ~12 MiB per connection at 200 (docs/performance.md, "Connection memory").
PORTAL_CONNECTION_MAX_SCHEMAS = env.int("PORTAL_CONNECTION_MAX_SCHEMAS", default=200)
# The audit log, the ledger and invoices refuse TRUNCATE unless the session allows it:
# only the test suite does (its flush between tests); the deploy check refuses it otherwise.
PORTAL_ALLOW_TRUNCATE = env.bool("PORTAL_ALLOW_TRUNCATE", default=False)
if PORTAL_ALLOW_TRUNCATE:
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} -c portal.allow_truncate=on".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache keys carry the schema name, so entries never cross organisations.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "KEY_FUNCTION": "django_tenants.cache.make_key",
    }
}
if "REDIS_URL" in env:
    # Django's Redis backend, with one client per connection pool (portal/cache.py).
    CACHES["default"] = {
        **env.cache_url("REDIS_URL", backend="portal.cache.RedisCache"),
        "KEY_FUNCTION": "django_tenants.cache.make_key",
    }

# --- Users and sign-in ---
AUTH_USER_MODEL = "accounts.User"
# Django's and allauth's, the signed-in user read with a prepared query.
AUTHENTICATION_BACKENDS = [
    "accounts.backends.ModelBackend",
    "accounts.backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"  # on the public site: accounts.adapter
# What accounts asks of the plan (seats, departments, the lock): answered by subscriptions,
# which stands above it (accounts/limits.py).
ACCOUNTS_LIMITS = "subscriptions.limits.PlanLimits"
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
# A reset asked for an address nobody here has sends nothing: an organisation's site has no
# sign-up, so allauth's "unknown account" email would send anyone a dead link.
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
# Email confirmation keys are random and kept in the site's own schema: allauth's default
# signs the address's id, which each organisation's schema numbers from 1, so a key from one
# site would confirm another site's address with the same id.
ACCOUNT_EMAIL_CONFIRMATION_HMAC = False
# Sign-ups on the public site (organisations.signups), per IP address and per email address, in
# allauth's rate limits (its own "signup" is closed: organisation sites have none).
# Every limit counts the real client behind the proxy (portal/clients.py).
ACCOUNT_RATE_LIMITS = {
    "start_organisation": env.text("PORTAL_SIGN_UP_RATE_LIMITS", "10/h/ip,3/h/key"),
    # The sign-up's availability check (asked as the address is typed, debounced).
    "check_address": env.text("PORTAL_ADDRESS_CHECK_RATE_LIMITS", "30/m/ip,300/h/ip"),
    # Password-reset emails: a few to one address in a minute, and in an hour.
    "reset_password": "20/m/ip,60/h/ip,3/m/key,10/h/key",
    # Failed sign-ins per account and client (accounts/adapter.py: a known browser, else an
    # IP address), and per account for every client it does not know.
    "login_failed": "10/m/ip,5/5m/key",
    "login_failed_strangers": "50/h/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
# Vendor staff sign in to the admin through allauth's rate-limited sign-in, and must use a
# second factor (TOTP) there. On unless debugging; the demo (`make run`) runs with it off.
PORTAL_STAFF_MFA = env.bool("PORTAL_STAFF_MFA", default=not DEBUG)

# Database sessions read through the cache, whose key is checked for its shape before the
# lookup (portal/sessions.py).
SESSION_ENGINE = "portal.sessions"
# Host-only cookies: a session from one organisation's site is never sent to another.
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None
# Cookies are marked secure where the portal is served over HTTPS (so, by default, unless
# debugging): a plain-HTTP trial of the production server (PORTAL_SCHEME=http) can sign in.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = PORTAL_SCHEME == "https"
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
# Content-Security-Policy of every response: our own origin only, no inline script or style
# (templates link portal.css and the like); images may also be data: URIs (the QR code of a
# second factor's set-up). Not framed by anyone; forms post only to the same origin.
PORTAL_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# A request counts as HTTPS from its X-Forwarded-Proto header only behind a proxy that sets
# it on every request (overwriting what the client sent): PORTAL_BEHIND_PROXY says so.
# Without it, gunicorn still trusts the header from its FORWARDED_ALLOW_IPS (127.0.0.1).
PORTAL_BEHIND_PROXY = env.bool("PORTAL_BEHIND_PROXY", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PORTAL_BEHIND_PROXY else None
# The client's address, for rate limits (portal/clients.py): what the nearest proxy appended
# to X-Forwarded-For, believed from these peers (gunicorn's variable and default) or, with
# PORTAL_BEHIND_PROXY, from anyone; PORTAL_PROXY_COUNT proxies in a row each append one.
PORTAL_FORWARDED_ALLOW_IPS = env.list(
    "FORWARDED_ALLOW_IPS", cast=str.strip, default=["127.0.0.1", "::1"]
)
PORTAL_PROXY_COUNT = env.int("PORTAL_PROXY_COUNT", default=1)
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG

# --- Email ---
_email = env.email_url("EMAIL_URL", default="console://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"]
EMAIL_PORT = _email["EMAIL_PORT"]
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"]
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"]
EMAIL_USE_SSL = _email["EMAIL_USE_SSL"]
EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
DEFAULT_FROM_EMAIL = env.text("DEFAULT_FROM_EMAIL", "Helpdesk portal <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The vendor's terms of service and privacy policy: a sign-up agrees to them (and the
# agreement is kept) when these name them.
# A data export's download link lasts this many days; a closed organisation's site offers
# its export this many days after it closed (organisations/exports.py).
PORTAL_EXPORT_LINK_DAYS = env.int("PORTAL_EXPORT_LINK_DAYS", default=7)
PORTAL_CLOSED_EXPORT_DAYS = env.int("PORTAL_CLOSED_EXPORT_DAYS", default=30)
# A done sign-up's IP address is forgotten this many days after (organisations/retention.py).
PORTAL_SIGN_UP_IP_DAYS = env.int("PORTAL_SIGN_UP_IP_DAYS", default=90)
# A deleted organisation's address is free again this many days after its deletion
# (organisations/deletion.py): links and emails that name it reach no one else meanwhile.
PORTAL_ADDRESS_QUARANTINE_DAYS = env.int("PORTAL_ADDRESS_QUARANTINE_DAYS", default=90)
PORTAL_TERMS_URL = env.text("PORTAL_TERMS_URL", "")
PORTAL_PRIVACY_URL = env.text("PORTAL_PRIVACY_URL", "")
# The vendor as its emails name it (the From header and the signature), per language.
PORTAL_VENDOR_NAMES = {
    "en": env.text("PORTAL_VENDOR_NAME", "Helpdesk Portal"),
    "ja": env.text("PORTAL_VENDOR_NAME_JA", "ヘルプデスクポータル"),
}

# --- Subscriptions ---
# Who hears about new refund requests (the seed's "payments@" address).
PAYMENTS_CONTACT_EMAIL = env.text("PAYMENTS_CONTACT_EMAIL", "payments@localhost")
# How many days before a renewal that carries a scheduled change its primary contact is
# reminded (run_billing sends the reminders).
SUBSCRIPTIONS_REMINDER_DAYS = env.int("SUBSCRIPTIONS_REMINDER_DAYS", default=7)
# How many days before an annual subscription renews its billing addresses are told what the
# renewal will bill (monthly ones are not: every month would bring one).
SUBSCRIPTIONS_RENEWAL_REMINDER_DAYS = env.int("SUBSCRIPTIONS_RENEWAL_REMINDER_DAYS", default=30)
# Dunning (subscriptions/services/dunning.py): the days after a renewal whose payment was
# refused on which it is asked again; after the last, the organisation falls back to Free.
SUBSCRIPTIONS_DUNNING_RETRY_DAYS = env.list(
    "SUBSCRIPTIONS_DUNNING_RETRY_DAYS", cast=int, default=[1, 3, 5, 7]
)
# Trials (subscriptions/services/trials.py): a sign-up starts on this plan for this many days
# with this many seats, then falls back to Free unless a plan was chosen; 0 days: on Free, no
# trial. Its primary contact is reminded these many days before the end.
SUBSCRIPTIONS_TRIAL_PLAN = env.text("SUBSCRIPTIONS_TRIAL_PLAN", "enterprise")
SUBSCRIPTIONS_TRIAL_DAYS = env.int("SUBSCRIPTIONS_TRIAL_DAYS", default=15)
SUBSCRIPTIONS_TRIAL_SEATS = env.int("SUBSCRIPTIONS_TRIAL_SEATS", default=10)
SUBSCRIPTIONS_TRIAL_REMINDER_DAYS = env.list(
    "SUBSCRIPTIONS_TRIAL_REMINDER_DAYS", cast=int, default=[7, 1]
)
# The payment seam for upgrade charges (subscriptions/payments.py).
SUBSCRIPTIONS_PAYMENT_GATEWAY = env.text(
    "SUBSCRIPTIONS_PAYMENT_GATEWAY", "subscriptions.payments.RecordOnlyGateway"
)
# Stripe (subscriptions/stripe_gateway.py, with SUBSCRIPTIONS_PAYMENT_GATEWAY =
# "subscriptions.stripe_gateway.StripeGateway"): the keys of the account, and the address of
# a local provider instead of Stripe's API (localstripe: `python -m subscriptions.local_provider`;
# test mode, no real money).
STRIPE_SECRET_KEY = env.text("STRIPE_SECRET_KEY", "")
STRIPE_PUBLISHABLE_KEY = env.text("STRIPE_PUBLISHABLE_KEY", "")
STRIPE_WEBHOOK_SECRET = env.text("STRIPE_WEBHOOK_SECRET", "")
STRIPE_API_BASE = env.text("STRIPE_API_BASE", "")
# Test clocks (portal/clock.py): an organisation's days moved forward for demos and staging.
# The production server refuses them unless SUBSCRIPTIONS_DEMO declares a demo.
PORTAL_TEST_CLOCKS = env.bool("PORTAL_TEST_CLOCKS", default=DEBUG)
# A demo deployment says so: the production server then starts with the record-only gateway
# (portal/production.py refuses it otherwise; `check --deploy` still warns).
SUBSCRIPTIONS_DEMO = env.bool("SUBSCRIPTIONS_DEMO", default=False)
# The seller on invoices, and its qualified-invoice registration number (T and 13 digits,
# 適格請求書発行事業者の登録番号) printed on JPY invoices; the deploy check warns without it.
PORTAL_INVOICE_SELLER = env.text("PORTAL_INVOICE_SELLER", "Helpdesk Portal")
PORTAL_INVOICE_REGISTRATION_NUMBER = env.text("PORTAL_INVOICE_REGISTRATION_NUMBER", "")
if PORTAL_INVOICE_REGISTRATION_NUMBER and (
    _refused := registration_numbers.refusal(PORTAL_INVOICE_REGISTRATION_NUMBER)
):
    raise ImproperlyConfigured(f"PORTAL_INVOICE_REGISTRATION_NUMBER: {_refused}")
# Entitlements are cached per organisation and version; another alias so that keys do not
# depend on the connection's schema. Use Redis (REDIS_URL) with several processes.
# How long the organisation a host name reaches stays cached (portal/hosts.py); every save
# of an organisation or a domain forgets it sooner. Without REDIS_URL the "shared" cache is
# each process's own memory, where another process's change (an organisation deleted by a
# command, renamed in another server process) could only arrive when the entry lapses: as
# soon as each process's copy does.
PORTAL_HOST_CACHE_SECONDS = env.int(
    "PORTAL_HOST_CACHE_SECONDS", default=3600 if "REDIS_URL" in env else 5
)
# ... and how long each process keeps what it read there before asking again: another
# process's change to an organisation or a domain reaches this one within that time.
PORTAL_HOST_LOCAL_SECONDS = env.float("PORTAL_HOST_LOCAL_SECONDS", default=5.0)
# ... for at most this many host names, the least recently used forgotten first (~0.7 KB
# each: 2,000 hold ~1.3 MB, measured with tracemalloc).
PORTAL_HOST_LOCAL_MAX = env.int("PORTAL_HOST_LOCAL_MAX", default=2000)
# Host names and entitlements are the same whatever schema the connection is on: no schema
# in their keys. In memory (no REDIS_URL) each has its own store, so clearing one (tests)
# leaves the others.
for _alias in ("hosts", "entitlements"):
    CACHES[_alias] = {
        **{key: value for key, value in CACHES["default"].items() if key != "KEY_FUNCTION"},
        "KEY_PREFIX": _alias,
    }
    if CACHES[_alias]["BACKEND"].endswith("LocMemCache"):
        CACHES[_alias]["LOCATION"] = _alias

# --- Languages: Japanese and English, from the browser unless the user picks one ---
LANGUAGE_CODE = "en"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
# Ours, then the libraries' Japanese as we write it (manage.py thirdparty_messages).
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale" / "thirdparty"]
USE_I18N = True
TIME_ZONE = env.text("TIME_ZONE", "Asia/Tokyo")
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.text("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# WhiteNoise serves static files; without debugging, from `manage.py collectstatic`'s
# compressed, fingerprinted copies (no CDN: every asset is in the repository).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Background work: procrastinate (portal/queue.py, `manage.py worker`) ---
# Tasks are found in each app's tasks.py. Every task a worker runs starts and ends on the
# public schema (portal.queue.on_app_ready adds that middleware). Jobs that succeeded are
# deleted (emails carry set-password links; the table stays small); failed ones are kept.
PROCRASTINATE_ON_APP_READY = "portal.queue.on_app_ready"
PROCRASTINATE_WORKER_DEFAULTS = {"delete_jobs": "successful"}

# One console handler; a refused request (4xx) is one line without a traceback (portal/logs.py).
LOGGING = logs.logging_config(env.text("LOG_LEVEL", ""))
