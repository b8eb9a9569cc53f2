"""Settings for the help center: one module, driven by environment variables.

With no configuration at all it runs for development on embedded parts (SQLite, kombu's
filesystem broker, mail written to files), all kept in ``var/``. Production mode is the
default (``DEBUG`` off) and fails closed: it refuses to start without ``SECRET_KEY`` and
``ALLOWED_HOSTS``. Every variable is documented in ``.env.example``.
"""

import sys
from ipaddress import ip_network
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var"))).resolve()


def _required(name: str) -> str:
    value = env.str(name, default="")
    if not value:
        # A one-line message instead of a traceback: the operator only needs the variable's name.
        sys.exit(f"helpcenter: {name} must be set when DEBUG is off (see .env.example).")
    return value


if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-never-use-in-production")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
else:
    SECRET_KEY = _required("SECRET_KEY")
    ALLOWED_HOSTS = [host.strip() for host in _required("ALLOWED_HOSTS").split(",") if host.strip()]

# A brand name is shown as it is; without one, the site calls itself "Help center" in the
# visitor's (or the email's) language.
SITE_NAME = env.str("SITE_NAME", default="") or _("Help center")
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django_htmx",
    "template_partials",
    "helpcenter",
    "foundation",
    "kb",
    "cases",
    "notifications",
    "insights",
    "api",
    "inbound",
    "webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "foundation.middleware.ProcessMemoMiddleware",
    "foundation.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "foundation.middleware.VisitorTimeZoneMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "foundation.middleware.VisitCounterMiddleware",
]

ROOT_URLCONF = "helpcenter.urls"
WSGI_APPLICATION = "helpcenter.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "helpcenter" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "helpcenter.context_processors.site",
                "notifications.context_processors.banners",
            ],
            # |moment and |number (foundation.times): every customer-facing time and count.
            "builtins": ["foundation.templatetags.moments"],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # The web server, the worker and beat share one file: WAL lets readers go on while one
    # process writes, IMMEDIATE transactions avoid "database is locked" on lock upgrades.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
# Reuse connections across requests (opening one and its PRAGMAs costs ~1 ms per request).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, Celery and the cache ------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
BROKER_DIR = VAR_DIR / "broker"


def _redis_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 3, "visibility_timeout": 3600}
    # The cache gets its own database: cache.clear() flushes a whole database and must never
    # take queued tasks with it.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env.str("REDIS_CACHE_URL", default=_redis_db(REDIS_URL, 1)),
            "KEY_PREFIX": "helpcenter",
            # A Redis that stops answering (frozen, packets dropped) costs a page at most this
            # long: foundation.shared_cache then serves it from the database.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    # kombu's filesystem transport with whole-file writes and poison messages set aside
    # (helpcenter/broker.py): the stock one lets a worker read a message file before it is
    # written, and the worker exits on it.
    CELERY_BROKER_URL = "helpcenter-filesystem://localhost/"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # The worker looks for new message files this often (kombu's default is once a second).
        "polling_interval": 0.1,
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "processing_folder": str(BROKER_DIR / "processing"),
        "poison_folder": str(BROKER_DIR / "poison"),
        "store_processed": False,
    }
    # Remote control (celery inspect/control) would give every worker a broadcast queue of
    # files that outlives a killed worker; nothing here uses it (/healthz reads the heartbeat
    # task's row). Gossip and mingle are off by themselves on this transport.
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
    # Shared by the web server and the workers (rate limits, counters), with no server to run.
    CACHES = {
        "default": {
            # Django's own, except that a count keeps its expiry (foundation/cache_backends.py).
            "BACKEND": "foundation.cache_backends.DatabaseCache",
            "LOCATION": "helpcenter_cache",
        }
    }

CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A web request must not hang on a broker that is down: try briefly, then the outbox
# sweeper re-queues whatever was written to the database but not sent to the broker.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5}
CELERY_TIMEZONE = env.str("TIME_ZONE", default="Europe/Madrid")
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "record-worker-heartbeat": {
        "task": "foundation.tasks.record_worker_heartbeat",
        "schedule": 60.0,
    },
    "kb-sweep-pending-index-updates": {
        "task": "kb.tasks.sweep_pending_index_updates",
        "schedule": 60.0,
    },
    "kb-flush-article-views": {"task": "kb.tasks.flush_article_views", "schedule": 60.0},
    "kb-learn-search": {"task": "kb.tasks.learn_search", "schedule": 60.0 * 60},
    "flush-counters": {"task": "foundation.tasks.flush_counters", "schedule": 60.0},
    "insights-roll-up-recent-days": {
        "task": "insights.tasks.roll_up_recent_days",
        "schedule": 600.0,
    },
    "insights-send-weekly-digests": {
        "task": "insights.tasks.send_weekly_digests",
        "schedule": 3600.0,
    },
    "notifications-process-due-announcements": {
        "task": "notifications.tasks.process_due_announcements",
        "schedule": 30.0,
    },
    "notifications-promote-pending-alerts": {
        "task": "notifications.tasks.promote_pending_alerts",
        "schedule": 30.0,
    },
    "notifications-resolve-silent-alerts": {
        "task": "notifications.tasks.resolve_silent_alerts",
        "schedule": 30.0,
    },
    "notifications-requeue-stalled-messages": {
        "task": "notifications.tasks.requeue_stalled_messages",
        "schedule": 60.0,
    },
    "cases-send-pending-updates": {
        "task": "cases.tasks.send_pending_case_updates",
        "schedule": 60.0,
    },
    "cases-requeue-case-link-requests": {
        "task": "cases.tasks.requeue_case_link_requests",
        "schedule": 60.0,
    },
    "cases-advance-idle-cases": {"task": "cases.tasks.advance_idle_cases", "schedule": 3600.0},
    "cases-sweep-attachments": {"task": "cases.tasks.sweep_attachments", "schedule": 60.0},
    "cases-sweep-attachment-files": {
        "task": "cases.tasks.sweep_attachment_files",
        "schedule": 3600.0,
    },
    "cases-tell-about-incidents": {
        "task": "cases.tasks.tell_cases_about_incidents",
        "schedule": 60.0,
    },
    "notifications-purge-old-message-bodies": {
        "task": "notifications.tasks.purge_old_message_bodies",
        "schedule": 3600.0,
    },
    "notifications-resume-unfinished-dispatches": {
        "task": "notifications.tasks.resume_unfinished_dispatches",
        "schedule": 120.0,
    },
    "webhooks-requeue-due-deliveries": {
        "task": "webhooks.tasks.requeue_due_deliveries",
        "schedule": 30.0,
    },
    "api-purge-old-writes": {"task": "api.tasks.purge_old_writes", "schedule": 3600.0},
    "webhooks-purge-old-deliveries": {
        "task": "webhooks.tasks.purge_old_deliveries",
        "schedule": 3600.0,
    },
    "notifications-tell-owners-of-disabled-webhooks": {
        "task": "notifications.tasks.tell_owners_of_disabled_webhooks",
        "schedule": 60.0,
    },
    # Email in (README, "Email in"): the sources that are polled, and the sweeper.
    "inbound-fetch-maildir": {
        "task": "inbound.tasks.fetch_inbound_maildir",
        "schedule": env.float("INBOUND_POLL_SECONDS", default=5.0),
    },
    "inbound-fetch-imap": {
        "task": "inbound.tasks.fetch_inbound_imap",
        "schedule": env.float("INBOUND_IMAP_POLL_SECONDS", default=60.0),
    },
    "inbound-process-waiting": {
        "task": "inbound.tasks.process_waiting_inbound_messages",
        "schedule": 60.0,
    },
}

# --- Email ----------------------------------------------------------------------------------
MAIL_DIR = VAR_DIR / "mail"
if env.str("EMAIL_URL", default=""):
    # EMAIL_URL (smtp://user:pass@host:587/?tls=True) sets EMAIL_BACKEND, EMAIL_HOST and friends.
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(MAIL_DIR)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Centro de ayuda <ayuda@example.com>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
# Days a delivered (or failed) email keeps its body in the outbox before it is blanked.
OUTBOX_BODY_RETENTION_DAYS = env.int("OUTBOX_BODY_RETENTION_DAYS", default=30)
# Hours a resolved incident (or completed maintenance) stays on the site, saying "resolved at",
# before the beat job takes it off by itself.
NOTICE_RESOLVED_VISIBLE_HOURS = env.int("NOTICE_RESOLVED_VISIBLE_HOURS", default=24)

# --- Email in -------------------------------------------------------------------------------
# The support address: new mail to it opens cases, and replies go to it with the case's token
# after a "+" (ayuda+k7m2q9xa-…@example.com). By default DEFAULT_FROM_EMAIL's address.
INBOUND_ADDRESS = env.str("INBOUND_ADDRESS", default="")
# Case emails carry a Reply-To naming the case and say "reply to this email"; turn it off where
# no source below reads the support address.
CASE_REPLY_BY_EMAIL = env.bool("CASE_REPLY_BY_EMAIL", default=True)
# The contact reason (its code) of a new email whose reason cannot be guessed.
INBOUND_FALLBACK_REASON = env.str("INBOUND_FALLBACK_REASON", default="other")
# Sources: a Maildir the worker reads (empty: none), an IMAP folder, providers' webhooks.
_maildir = env.str("INBOUND_MAILDIR", default=str(VAR_DIR / "mail-in"))
INBOUND_MAILDIR = Path(_maildir) if _maildir else None
INBOUND_IMAP_URL = env.str("INBOUND_IMAP_URL", default="")
INBOUND_IMAP_ARCHIVE_FOLDER = env.str("INBOUND_IMAP_ARCHIVE_FOLDER", default="")
INBOUND_WEBHOOKS = env.list("INBOUND_WEBHOOKS", default=[])
# Sender authentication (README, "Email in"): the receiving server's verdict is read from the
# Authentication-Results headers of these authserv-ids only (anyone can write the header);
# mail whose From is not authenticated, and is not a reply carrying our token, is held for
# staff ("hold_failed"), also when no verdict at all ("require"), or never ("off").
INBOUND_TRUSTED_AUTHSERV_IDS = [
    value.strip().lower() for value in env.list("INBOUND_TRUSTED_AUTHSERV_IDS", default=[])
]
INBOUND_SENDER_AUTH = env.str("INBOUND_SENDER_AUTH", default="hold_failed")
if INBOUND_SENDER_AUTH not in ("off", "hold_failed", "require"):
    sys.exit(
        f"helpcenter: INBOUND_SENDER_AUTH must be off, hold_failed or require, "
        f"not {INBOUND_SENDER_AUTH!r}."
    )
# With no trusted verdict, check the From domain's DKIM signature ourselves (DNS lookups).
INBOUND_VERIFY_DKIM = env.bool("INBOUND_VERIFY_DKIM", default=False)
ANYMAIL = {
    "MAILGUN_WEBHOOK_SIGNING_KEY": env.str("MAILGUN_WEBHOOK_SIGNING_KEY", default=""),
    # "user:password" that Postmark, SendGrid and Amazon SES send with each post.
    "WEBHOOK_SECRET": env.str("ANYMAIL_WEBHOOK_SECRET", default=""),
}

# --- Webhooks out ---------------------------------------------------------------------------
# Endpoints on loopback or private networks are refused unless this is on (tests, benchmarks,
# development): staff could otherwise make the site post into its own network.
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", default=DEBUG)
WEBHOOKS_CONNECT_TIMEOUT = env.float("WEBHOOKS_CONNECT_TIMEOUT", default=3.0)
WEBHOOKS_READ_TIMEOUT = env.float("WEBHOOKS_READ_TIMEOUT", default=10.0)
# The Fernet key (urlsafe base64 of 32 bytes) that encrypts the endpoints' signing secrets;
# empty: derived from SECRET_KEY (then rotating SECRET_KEY needs new endpoint secrets).
WEBHOOKS_ENCRYPTION_KEY = env.str("WEBHOOKS_ENCRYPTION_KEY", default="")
# Days the delivery log keeps a delivered or failed delivery (its body holds customers' data).
WEBHOOKS_LOG_RETENTION_DAYS = env.int("WEBHOOKS_LOG_RETENTION_DAYS", default=30)

# --- API ------------------------------------------------------------------------------------
# Hours a retried Idempotency-Key is answered with the first answer (its saved body is dropped
# after); days an API write stays recorded (who, what, when), refusing its key until it goes.
API_IDEMPOTENCY_HOURS = env.int("API_IDEMPOTENCY_HOURS", default=24)
API_WRITE_RETENTION_DAYS = env.int("API_WRITE_RETENTION_DAYS", default=30)
if API_WRITE_RETENTION_DAYS * 24 <= API_IDEMPOTENCY_HOURS:
    raise ImproperlyConfigured(
        "API_WRITE_RETENTION_DAYS must be longer than API_IDEMPOTENCY_HOURS: a key's record "
        "must outlive the window in which a retry with it is replayed."
    )

# --- Cases ----------------------------------------------------------------------------------
CASE_LINK_DAYS = env.int("CASE_LINK_DAYS", default=30)  # how long an emailed case link works
# How long a browser that opened a case link may see the case before it needs the link again
# (whatever its activity); revoking or expiring the link ends it sooner.
CASE_SESSION_HOURS = env.int("CASE_SESSION_HOURS", default=24 * 7)
CASE_REOPEN_DAYS = 14  # a resolved case can be reopened by the customer for this long
CASE_UPDATE_COALESCE_MINUTES = env.int("CASE_UPDATE_COALESCE_MINUTES", default=3)

# --- Attachments ----------------------------------------------------------------------------
# Files sent with a message (contact form, case page, desk replies, email), limits stated next
# to every field that takes them. A file past the per-file limit is dropped while the request
# is read (foundation/uploads.py), the rest of the form kept.
_MB = 1024 * 1024
ATTACHMENT_MAX_FILE_BYTES = env.int("ATTACHMENT_MAX_FILE_MB", default=10) * _MB
ATTACHMENT_MAX_MESSAGE_BYTES = env.int("ATTACHMENT_MAX_MESSAGE_MB", default=25) * _MB
ATTACHMENT_MAX_CASE_BYTES = env.int("ATTACHMENT_MAX_CASE_MB", default=100) * _MB
ATTACHMENT_MAX_FILES = env.int("ATTACHMENT_MAX_FILES", default=5)  # in one message
# An image larger than this is refused before it is decoded (a small file can unpack to
# gigabytes of pixels).
ATTACHMENT_MAX_IMAGE_PIXELS = 50_000_000
# ClamAV's daemon, when set (unix:///run/clamav/clamd.ctl or tcp://127.0.0.1:3310): every
# file is scanned before it is served, and one it flags is held back (quarantined).
ATTACHMENT_CLAMD_URL = env.str("ATTACHMENT_CLAMD_URL", default="")
FILE_UPLOAD_HANDLERS = [
    "foundation.uploads.SizeCappedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# Where they are kept, through Django's storage API (the "attachments" storage below): a
# folder under VAR_DIR by default, or any S3-compatible bucket. Never at a public address:
# files leave only through the case pages, to whoever may see the case.
ATTACHMENTS_DIR = Path(env.str("ATTACHMENTS_DIR", default=str(VAR_DIR / "attachments")))
ATTACHMENTS_S3_BUCKET = env.str("ATTACHMENTS_S3_BUCKET", default="")
if ATTACHMENTS_S3_BUCKET:
    _ATTACHMENTS_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": ATTACHMENTS_S3_BUCKET,
            "location": env.str("ATTACHMENTS_S3_PREFIX", default="attachments"),
            # Empty: Amazon S3 itself, and the credentials boto3 finds (role, profile...).
            "endpoint_url": env.str("ATTACHMENTS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("ATTACHMENTS_S3_REGION", default="") or None,
            "access_key": env.str("ATTACHMENTS_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("ATTACHMENTS_S3_SECRET_ACCESS_KEY", default="") or None,
            # The bucket's own (private) access; many stores refuse per-object ACLs.
            "default_acl": None,
            "querystring_auth": True,
            # The processing task writes the same names again if it runs twice.
            "file_overwrite": True,
        },
    }
else:
    _ATTACHMENTS_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": str(ATTACHMENTS_DIR),
            "allow_overwrite": True,
            "file_permissions_mode": 0o640,
            "directory_permissions_mode": 0o750,
        },
    }

# --- Search ---------------------------------------------------------------------------------
# The search backend (kb/search/base.py: SearchBackend), as a dotted path to its class. While
# its index is unavailable, SEARCH_FALLBACK_BACKEND (the database's word matching) answers.
SEARCH_BACKEND = env.str("SEARCH_BACKEND", default="kb.search.backends.whoosh.WhooshSearchBackend")
SEARCH_FALLBACK_BACKEND = "kb.search.backends.database.DatabaseSearchBackend"
SEARCH_INDEX_DIR = Path(env.str("SEARCH_INDEX_DIR", default=str(VAR_DIR / "index")))

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "es"
LANGUAGES = [("es", _("Spanish")), ("en", _("English"))]
# Each app (helpcenter included) keeps its own catalogue in <app>/locale/.
USE_I18N = True
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Madrid")
USE_TZ = True
# Dates as each language writes them ("lunes 7 de diciembre", "7 dic"): helpcenter/formats/.
FORMAT_MODULE_PATH = ["helpcenter.formats"]

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "attachments": _ATTACHMENTS_STORAGE,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or env.bool("STATIC_PLAIN_STORAGE", default=False)
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Authentication -------------------------------------------------------------------------
LOGIN_URL = "admin:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Security -------------------------------------------------------------------------------
# Production defaults are strict; each can be relaxed by its variable (e.g. behind a proxy
# that terminates TLS, set SECURE_PROXY_SSL_HEADER=1).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
# The CSRF token reaches htmx through hx-headers in the page, so no script needs the cookie.
CSRF_COOKIE_HTTPONLY = True
# The language switch's cookie follows the same rules (only the server reads it).
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Per-address rate limits count the visitor's address (foundation/ratelimit.py): behind a
# reverse proxy that is in X-Forwarded-For, which is read only when the proxies are named here
# (how many there are, or their networks); otherwise every visitor would be the proxy.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
TRUSTED_PROXY_NETWORKS = env.list("TRUSTED_PROXY_NETWORKS", default=[])
if TRUSTED_PROXY_COUNT and TRUSTED_PROXY_NETWORKS:
    sys.exit("helpcenter: set TRUSTED_PROXY_COUNT or TRUSTED_PROXY_NETWORKS, not both.")
for _network in TRUSTED_PROXY_NETWORKS:
    try:
        ip_network(_network.strip(), strict=False)
    except ValueError:
        sys.exit(f"helpcenter: TRUSTED_PROXY_NETWORKS: {_network!r} is not an address or network.")
SESSION_COOKIE_AGE = 60 * 60 * 24 * 30

# --- Logging --------------------------------------------------------------------------------


def _not_a_static_file_served(record) -> bool:
    """runserver logs every request; a page's dozen CSS, JS and image answers bury the rest
    (errors on them are still logged)."""
    args = record.args if isinstance(record.args, tuple) else ()
    request_line = str(args[0]) if args else ""
    path = request_line.split(" ")[1] if request_line.count(" ") >= 1 else ""
    try:
        status = int(args[1]) if len(args) > 1 else 0
    except (TypeError, ValueError):
        status = 0
    return not (path.startswith((STATIC_URL, "/favicon.ico")) and status < 400)


# Every record of every logger has the tokens of secret links redacted as it is made
# (foundation/log_redaction.py): a case link in a log line would open the customer's case.
LOGGING_CONFIG = "foundation.log_redaction.configure_logging"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "no_static_files": {
            "()": "django.utils.log.CallbackFilter",
            "callback": _not_a_static_file_served,
        }
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        # Django's own format for runserver's request lines.
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["no_static_files"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}
