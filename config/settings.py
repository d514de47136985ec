"""Qingshan settings: one module, driven by environment variables alone.

With no variables at all except DJANGO_DEBUG=true (or DJANGO_SECRET_KEY) the
product runs embedded: SQLite in WAL mode, Celery on kombu's filesystem
transport, mail written to files, media on the local disk, everything under
``var/``. Production sets DATABASE_URL, CELERY_BROKER_URL, EMAIL_URL and an
S3 bucket; see the README's configuration table.
"""

import hashlib
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

VAR_DIR = Path(env.str("QINGSHAN_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "insecure-debug-only-key"  # noqa: S105 - reachable only with DEBUG on

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "inspections.common.admin_site.QingshanAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "inspections.accounts.apps.LoginLockoutConfig",  # django-axes
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "villages",
    "inspections",
]

MIDDLEWARE = [
    # First: nothing below may read a forwarding header a client forged (config/proxies.py).
    "config.proxies.UntrustedForwardingHeadersMiddleware",
    "inspections.api.limits.UrlLengthLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A database outage under a page (the admin's, the public's) is the 503 page with Retry-After.
    "inspections.api.problems.DatabaseUnavailableMiddleware",
    # Last: turns a locked-out login into the lockout answer (inspections/accounts/api_lockout.py).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# How many requests' views one web process runs at a time (config.asgi.BoundedASGIHandler); the
# others wait their turn, first come first served, their bodies already received.
QINGSHAN_WEB_THREADS = env.int("QINGSHAN_WEB_THREADS", default=8)

# --- Database --------------------------------------------------------------
# SQLite runs in WAL mode with IMMEDIATE transactions so the web server, the
# worker and beat can share one file without "database is locked" errors.
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
EMBEDDED_DATABASE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
if EMBEDDED_DATABASE:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # Django's backend, with the writers of one process queued on a lock before SQLite's.
    DATABASES["default"]["ENGINE"] = "config.sqlite"
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
    # Tests use a file too, not shared-cache memory: concurrency then behaves as
    # in the embedded runtime (WAL, busy timeout) instead of failing with
    # "table is locked".
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
    if env.bool("DATABASE_POOL", default=False):
        # The web server (Procfile): connections kept for the next request (config.sqlite), as
        # many as the views a process runs at a time and two for answers streamed after them.
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=QINGSHAN_WEB_THREADS + 2)
        }
elif env.bool("DATABASE_POOL", default=False):
    # The web server (Procfile): under ASGI each request runs in a thread of its own, so a
    # persistent connection would be opened per request and never reused; a pool per process
    # lends connections instead, at most DATABASE_POOL_MAX_SIZE at a time (the rest wait).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        # One per view the process runs at a time (config.asgi), and two for answers streamed
        # after their view gave its place back.
        "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=QINGSHAN_WEB_THREADS + 2),
        "timeout": 10,
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and not env.bool(
    "DATABASE_JIT", default=False
):
    # PostgreSQL compiles a query it estimates costly (jit_above_cost) before running it: for
    # the admin's aggregates over the national dataset that compilation alone took 0.25-0.7 s
    # of 1.2-1.6 s. Off for every connection of the product, unless DATABASE_JIT says otherwise.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- The ledger key (inspections/common/ledger.py) ---------------------------
# Case events are chained by HMAC under a key kept out of the database. Required with a
# database server and DEBUG off (production); the embedded runtime (SQLite) and DEBUG derive
# one from the secret key. Rotation: the README's procedure (new id and key, the old key
# into QINGSHAN_LEDGER_OLD_KEYS, `manage.py resign_case_history`).
QINGSHAN_LEDGER_KEY = env.str("QINGSHAN_LEDGER_KEY", default="")
QINGSHAN_LEDGER_KEY_ID = env.int("QINGSHAN_LEDGER_KEY_ID", default=1)
# Old keys still verifying the events they signed: "1=key,2=key".
QINGSHAN_LEDGER_OLD_KEYS = env.dict("QINGSHAN_LEDGER_OLD_KEYS", default={})
if QINGSHAN_LEDGER_KEY_ID < 1:
    raise ImproperlyConfigured("QINGSHAN_LEDGER_KEY_ID must be 1 or more (0 marks unkeyed legacy events).")
if not QINGSHAN_LEDGER_KEY:
    if not DEBUG and not EMBEDDED_DATABASE:
        raise ImproperlyConfigured(
            "QINGSHAN_LEDGER_KEY must be set when DJANGO_DEBUG is off and DATABASE_URL names a server."
        )
    QINGSHAN_LEDGER_KEY = hashlib.sha256(f"qingshan.ledger:{SECRET_KEY}".encode()).hexdigest()
# Where the daily task writes the signed chain heads (case-heads-YYYY-MM-DD.json): put it on
# storage the database's users cannot rewrite (a write-once bucket, another machine's mount).
QINGSHAN_LEDGER_ANCHOR_DIR = Path(
    env.str("QINGSHAN_LEDGER_ANCHOR_DIR", default=str(VAR_DIR / "ledger-anchors"))
)

AUTH_USER_MODEL = "inspections.User"
# django-axes first: it refuses a locked-out account or address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Cache (login throttling, rate limits) ----------------------------------
# The file cache is shared by every process of the embedded runtime; production
# points CACHE_URL at Redis.
CACHES = {"default": env.cache_url("CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}")}

# --- Language and time ------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
# Each app keeps its catalogue in its own locale/ folder (Django finds them).
# config/locale holds only what Django's own zh_Hans catalogues leave untranslated
# (admin templates and the admin's JavaScript widgets), written by hand.
LOCALE_PATHS = [BASE_DIR / "config" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Media has no public URL: originals of evidence are served only through
# views that check who is asking. No URLconf serves MEDIA_URL, and the storage
# has no base_url, so a stored file has no public address.
MEDIA_ROOT = Path(env.str("QINGSHAN_MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Uploads larger than 2.5 MB are spooled here while the request runs; a killed web worker
# leaves its file behind, and the media reconciler removes it after the grace period.
FILE_UPLOAD_TEMP_DIR = Path(env.str("QINGSHAN_UPLOAD_TEMP_DIR", default=str(VAR_DIR / "upload-tmp")))
FILE_UPLOAD_TEMP_DIR.mkdir(parents=True, exist_ok=True)
MEDIA_URL = "/private-media/"

# QINGSHAN_STORAGE=s3 (or a bucket name alone) puts media on S3-compatible object storage;
# the default is the local disk. Objects are private: no public ACL, and a stored file is
# read only through the views that check who is asking (they stream it).
_s3_bucket = env.str("AWS_STORAGE_BUCKET_NAME", default="")
QINGSHAN_STORAGE = env.str("QINGSHAN_STORAGE", default="s3" if _s3_bucket else "local")
if QINGSHAN_STORAGE not in ("local", "s3"):
    raise ImproperlyConfigured("QINGSHAN_STORAGE must be local or s3")
if QINGSHAN_STORAGE == "s3":
    if not _s3_bucket:
        raise ImproperlyConfigured("QINGSHAN_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME")
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": _s3_bucket,
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env.str("AWS_S3_REGION_NAME", default=None),
            # Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, read by boto3 itself
            # (or an instance role); never in the settings module.
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": env.int("QINGSHAN_S3_SIGNED_URL_SECONDS", default=300),
            "file_overwrite": False,
            "signature_version": "s3v4",
            # "path" for servers without virtual-host buckets (MinIO, moto, some private clouds).
            "addressing_style": env.str("QINGSHAN_S3_ADDRESSING_STYLE", default=None),
            "location": env.str("QINGSHAN_S3_PREFIX", default=""),
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": None},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Email ------------------------------------------------------------------
if env.str("EMAIL_URL", default=""):
    # smtp+tls://user:password@host:587, consolemail://, filemail:///path
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="qingshan@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery -----------------------------------------------------------------
# Without CELERY_BROKER_URL the broker is a folder on disk: no server needed.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # One folder for every process of the machine (web, workers, beat); QINGSHAN_BROKER_DIR
    # lets processes with var/ folders of their own share it.
    _queue_dir = Path(env.str("QINGSHAN_BROKER_DIR", default=str(VAR_DIR / "broker")))
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "queue"),
        "data_folder_out": str(_queue_dir / "queue"),
        "processed_folder": str(_queue_dir / "processed"),
        "store_processed": False,
        # Exchange bindings and remote control: kombu's default is ./control in the working directory.
        "control_folder": str(_queue_dir / "control"),
    }
    # kombu does not create the folder; a worker on a fresh var/ would fail to declare its queues.
    for _folder in ("queue", "control"):
        (_queue_dir / _folder).mkdir(parents=True, exist_ok=True)
else:
    # A message a worker took and never acknowledged (the worker was killed) is delivered
    # again after this long; it must exceed the longest task (digest chunks: 600 s) and the
    # longest retry countdown. Photos do not wait for it: their sweeper re-sends sooner.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("QINGSHAN_BROKER_VISIBILITY_TIMEOUT_SECONDS", default=900)
    }
if CELERY_BROKER_URL.startswith(("amqp://", "amqps://", "pyamqp://")):
    # RabbitMQ has no visibility timeout: an unacknowledged message goes back to the queue when
    # its consumer's connection closes (a killed worker), and the broker closes a channel that
    # holds one longer than its consumer_timeout (30 min by default): above the longest task
    # (600 s) and the longest retry countdown a worker holds (digests: 960 s). Publisher
    # confirms: a publish returns only once the broker has the message, so a photo whose task
    # the broker did not take is left to the sweeper rather than lost.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"confirm_publish": True}
    # With late acknowledgement, a task still running when the connection drops is redelivered
    # to another worker; cancel it here instead of running it twice at once.
    CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# A photo's processing task is published after the commit within this many seconds, or
# left to the sweeper: an upload never waits on the broker.
QINGSHAN_PUBLISH_TIMEOUT_SECONDS = env.float("QINGSHAN_PUBLISH_TIMEOUT_SECONDS", default=3.0)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The one place that says which queue each task runs on (beat rows copy it when created).
# Media has its own queue so that a burst of uploads never delays email, and email its own
# so that a slow mail server never delays escalation. Every task is listed.
# The digest fan-out and its chunks may be given a queue of their own.
_DIGEST_QUEUE = env.str("QINGSHAN_DIGEST_QUEUE", default="email")
_MEDIA_QUEUE = env.str("QINGSHAN_MEDIA_QUEUE", default="media")
CELERY_TASK_ROUTES = {
    "inspections.photo_process": {"queue": _MEDIA_QUEUE},
    "inspections.cases.make_public_images": {"queue": _MEDIA_QUEUE},
    "inspections.publication.make_owed_public_images": {"queue": _MEDIA_QUEUE},
    "inspections.digests.send_scheduled": {"queue": _DIGEST_QUEUE},
    "inspections.digests.send_chunk": {"queue": _DIGEST_QUEUE},
    "inspections.cases.send_notifications": {"queue": "email"},
    "inspections.cases.send_handover_notifications": {"queue": "email"},
    "inspections.cases.send_owed_notifications": {"queue": "email"},
    "inspections.cases.warn_publication_due": {"queue": "email"},
    "inspections.cases.escalate_overdue": {"queue": "default"},
    "inspections.cases.schedule_look_backs": {"queue": "default"},
    "inspections.uploads_expire": {"queue": "default"},
    "inspections.photos_sweep": {"queue": "default"},
    "inspections.media_reconcile": {"queue": "default"},
    "inspections.coverage_recount": {"queue": "default"},
    "inspections.accounts.purge_expired": {"queue": "default"},
    "inspections.cases.anchor_history": {"queue": "default"},
    "inspections.cases.export_ledger": {"queue": "default"},
    "inspections.cases.purge_exports": {"queue": "default"},
    "inspections.cases.climb_ladder": {"queue": "default"},
    "inspections.cases.send_ladder_mail": {"queue": "email"},
    "inspections.cases.compile_bulletins": {"queue": "default"},
}

# --- REST API ---------------------------------------------------------------
# Longer URLs (path and query string) are answered 414 uri_too_long (inspections/api/limits.py).
QINGSHAN_MAX_URL_LENGTH = env.int("QINGSHAN_MAX_URL_LENGTH", default=4096)
# The addresses of the reverse proxies in front of the app (none by default): only their
# X-Forwarded-For and X-Forwarded-Proto are believed; anyone else's are dropped.
# Only tests/benchmarks/bench_upload.py sets this: it routes config/benchmark.py's bare view.
QINGSHAN_BENCHMARK_BARE_UPLOAD = env.bool("QINGSHAN_BENCHMARK_BARE_UPLOAD", default=False)
QINGSHAN_TRUSTED_PROXIES = env.list("QINGSHAN_TRUSTED_PROXIES", default=[])
REST_FRAMEWORK = {
    # Behind a trusted proxy the client is the address it appended to X-Forwarded-For (the
    # last one); otherwise the header is gone (config/proxies.py) and the peer address counts.
    "NUM_PROXIES": 1 if QINGSHAN_TRUSTED_PROXIES else 0,
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "inspections.accounts.api_auth.RevocableJWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["inspections.api.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "inspections.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "inspections.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "inspections.api.problems.exception_handler",
    # "login": token requests per client address; "token_refresh": refreshes per account
    # (phones behind one carrier NAT share an address).
    "DEFAULT_THROTTLE_RATES": {
        "login": env.str("LOGIN_THROTTLE_RATE", default="10/min"),
        "token_refresh": env.str("TOKEN_REFRESH_THROTTLE_RATE", default="10/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# Login lockout (django-axes), for the admin login and the token endpoint alike: after N failed
# logins an account, and an address, are locked for M minutes after the last failure. The
# address is the client's as config/proxies.py resolves it (trusted proxies only).
AXES_FAILURE_LIMIT = env.int("QINGSHAN_LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("QINGSHAN_LOGIN_LOCKOUT_MINUTES", default=15))
# "username", "ip_address" or both (each counted on its own).
AXES_LOCKOUT_PARAMETERS = env.list("QINGSHAN_LOGIN_LOCKOUT_BY", default=["username", "ip_address"])
AXES_CLIENT_IP_CALLABLE = "config.proxies.client_address"
AXES_LOCKOUT_CALLABLE = "inspections.accounts.api_lockout.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # failures are recorded; successful logins are not
AXES_VERBOSE = False  # no banner on every start
SIMPLE_JWT = {
    "AUTH_HEADER_TYPES": ("Bearer",),
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=30)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=14)),
    # Tokens carry a hash of the password they were issued under: a password change or an
    # administrator's reset revokes every token of the account, access and refresh alike.
    "CHECK_REVOKE_TOKEN": True,
    # Each refresh returns a new refresh token and blacklists the one used: a reused refresh
    # token is refused (and revokes every refresh token of the account).
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Qingshan API",
    "DESCRIPTION": "Unannounced field inspections of rural environmental remediation.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "VillageKindEnum": "villages.models.Village.Kind",
        "UrbanRuralClassEnum": "villages.models.Village.UrbanRuralClass",
        "LocationSourceEnum": "villages.models.Village.LocationSource",
        "DatumEnum": "villages.models.Datum",
        "DivisionLevelEnum": "villages.models.Division.Level",
        "LanguageEnum": "inspections.accounts.models.Language",
        "InspectionStatusEnum": "inspections.fieldwork.models.Inspection.Status",
        "InspectionModeEnum": "inspections.fieldwork.models.Inspection.Mode",
        "SeverityEnum": "inspections.checklist.models.Severity",
        "ProblemDomainEnum": "inspections.checklist.models.Domain",
    },
    # The tus version header's one value, named for generated clients (inspections/evidence/api_tus.py).
    "APPEND_COMPONENTS": {
        "schemas": {
            "TusResumable": {"type": "string", "enum": ["1.0.0"], "x-enum-varnames": ["V1_0_0"]},
        }
    },
    # One schema for every caller, in English (inspections/api/schema.py).
    "DEFAULT_GENERATOR_CLASS": "inspections.api.schema.SchemaGenerator",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "inspections.api.schema.postprocess_schema",
    ],
}

# --- Security (production defaults; DEBUG relaxes none of them silently) ----
# X-Forwarded-Proto is believed only from QINGSHAN_TRUSTED_PROXIES (config/proxies.py).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Lockouts are warnings; axes' line for every successful login is not worth a log line.
    "loggers": {"axes": {"level": "WARNING"}},
}

# --- Product settings -------------------------------------------------------
QINGSHAN_DEMO = env.bool("QINGSHAN_DEMO", default=False)

# --- Cases to closure ---------------------------------------------------------
# Escalation (督办): at the deadline, then every N working days, up to the top level
# (1 = the prefecture's supervisors are notified, 2 = the province's).
QINGSHAN_ESCALATION_STEP_WORKING_DAYS = env.int("QINGSHAN_ESCALATION_STEP_WORKING_DAYS", default=5)
QINGSHAN_ESCALATION_MAX_LEVEL = env.int("QINGSHAN_ESCALATION_MAX_LEVEL", default=2)
# The 督办 ladder (README "Cases to closure"), in working days of China's calendar:
# 提醒 to the responsible unit when the deadline is this many working days away or fewer;
QINGSHAN_LADDER_REMINDER_WORKING_DAYS = env.int("QINGSHAN_LADDER_REMINDER_WORKING_DAYS", default=3)
# 督办单 to the unit and its county once the deadline is this many working days past (0: the day after);
QINGSHAN_LADDER_SUPERVISION_AFTER_WORKING_DAYS = env.int(
    "QINGSHAN_LADDER_SUPERVISION_AFTER_WORKING_DAYS", default=0
)
# the unit replies to a 督办单 within this many working days;
QINGSHAN_LADDER_SUPERVISION_REPLY_WORKING_DAYS = env.int(
    "QINGSHAN_LADDER_SUPERVISION_REPLY_WORKING_DAYS", default=5
)
# the monthly 通报 lists problems overdue by at least this many working days at the month's end;
QINGSHAN_BULLETIN_OVERDUE_WORKING_DAYS = env.int("QINGSHAN_BULLETIN_OVERDUE_WORKING_DAYS", default=5)
# a new 通报 is shown on the public pages at once (each bulletin's own choice can change it);
QINGSHAN_BULLETIN_PUBLIC = env.bool("QINGSHAN_BULLETIN_PUBLIC", default=False)
# the follow-up report of a 约谈 is due this many calendar days after it (by the rules: 30).
QINGSHAN_SUMMONS_REPORT_DAYS = env.int("QINGSHAN_SUMMONS_REPORT_DAYS", default=30)
# Verification visits (核查销号) are due within this many working days of the rectification.
# Problems of a submitted inspection are handed over (交办) at once instead of awaiting review,
# where no ReviewPolicy of a division above the village says otherwise.
QINGSHAN_AUTO_HAND_OVER = env.bool("QINGSHAN_AUTO_HAND_OVER", default=False)
# The responsible unit (责任单位) a problem is handed to unless the assigning level changes it:
# "township" (the village's township) or "village" (the village itself).
QINGSHAN_RESPONSIBLE_UNIT_DEFAULT = env.str("QINGSHAN_RESPONSIBLE_UNIT_DEFAULT", default="township")
# 销号 after a verification visit needs a team of at least this many inspectors.
QINGSHAN_CLOSURE_MIN_INSPECTORS = env.int("QINGSHAN_CLOSURE_MIN_INSPECTORS", default=2)
# The 公示 of a 销号: working days the closure is shown on the public pages
# (/public/<lang>/closures/) before it is final; 0 (the default) closes at once.
QINGSHAN_CLOSURE_PUBLICITY_WORKING_DAYS = env.int("QINGSHAN_CLOSURE_PUBLICITY_WORKING_DAYS", default=0)
QINGSHAN_VERIFICATION_WORKING_DAYS = env.int("QINGSHAN_VERIFICATION_WORKING_DAYS", default=10)
# Verification and look-back teams: at least two inspectors, never the rectifier.
QINGSHAN_FOLLOW_UP_TEAM_SIZE = env.int("QINGSHAN_FOLLOW_UP_TEAM_SIZE", default=2)
# Look-back (回头看): the share of cases closed each day that gets a visit, within N days of closure.
QINGSHAN_LOOK_BACK_SHARE = env.float("QINGSHAN_LOOK_BACK_SHARE", default=0.1)
QINGSHAN_LOOK_BACK_WITHIN_DAYS = env.int("QINGSHAN_LOOK_BACK_WITHIN_DAYS", default=30)
# Publication (一公开): results are due this many working days after the last window closes;
# organisers are warned this many working days before.
QINGSHAN_PUBLICATION_WORKING_DAYS = env.int("QINGSHAN_PUBLICATION_WORKING_DAYS", default=20)
QINGSHAN_PUBLICATION_WARN_WORKING_DAYS = env.int("QINGSHAN_PUBLICATION_WARN_WORKING_DAYS", default=5)
# One enum name for the case statuses shared by cases and their events in the schema.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] = {
    **SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"],  # type: ignore[dict-item]
    "CaseStatusEnum": "inspections.cases.models.CaseStatus",
    # Visit kinds, in visit results and in the cases a visit's assignment carries: the name
    # they had when only the results showed them.
    "FollowUpResultOutputKindEnum": "inspections.cases.models.FollowUp.Kind",
    # Targeted visits' modes: the name the public record's had before orders came to the API.
    "PublicTargetedVisitOutputModeEnum": "inspections.sampling.api.MODE_CHOICES",
    "ComplaintSourceEnum": "inspections.complaints.models.Complaint.Source",
}
# How far from a village's point a check-in still counts as on site (metres);
# sent to the phone with each assignment.
QINGSHAN_GEOFENCE_RADIUS_M = env.int("QINGSHAN_GEOFENCE_RADIUS_M", default=1000)
# --- Field inspections and evidence -------------------------------------------
# How long after the visit window closes the team may still upload and submit.
QINGSHAN_FIELDWORK_GRACE = timedelta(hours=env.int("QINGSHAN_FIELDWORK_GRACE_HOURS", default=48))
# A check-in this accurate (metres) or better may confirm a village's location.
QINGSHAN_CONFIRM_LOCATION_MAX_ACCURACY_M = env.float("QINGSHAN_CONFIRM_LOCATION_MAX_ACCURACY_M", default=30.0)
# Upload limits: larger files are refused with 413, more pixels with 422.
QINGSHAN_PHOTO_MAX_BYTES = env.int("QINGSHAN_PHOTO_MAX_BYTES", default=30 * 1024 * 1024)
QINGSHAN_PHOTO_MAX_PIXELS = env.int("QINGSHAN_PHOTO_MAX_PIXELS", default=120_000_000)
# Evidence flags: a photo's EXIF GPS farther than this from the village (metres; wider than
# the check-in geofence, QINGSHAN_GEOFENCE_RADIUS_M: a village's fields and ponds lie around
# it), capture time outside the visit window by more than this, phone clock off by more than
# this, perceptual hashes within this Hamming distance (of 64 bits).
QINGSHAN_EVIDENCE_RADIUS_M = env.int("QINGSHAN_EVIDENCE_RADIUS_M", default=1500)
QINGSHAN_EVIDENCE_WINDOW_TOLERANCE = timedelta(
    minutes=env.int("QINGSHAN_EVIDENCE_WINDOW_TOLERANCE_MINUTES", default=120)
)
QINGSHAN_EVIDENCE_CLOCK_SKEW = timedelta(minutes=env.int("QINGSHAN_EVIDENCE_CLOCK_SKEW_MINUTES", default=10))
QINGSHAN_EVIDENCE_NEAR_DUPLICATE_DISTANCE = env.int("QINGSHAN_EVIDENCE_NEAR_DUPLICATE_DISTANCE", default=6)
# EXIF times without an offset are camera local time; inspections are in China.
QINGSHAN_EXIF_DEFAULT_OFFSET = env.str("QINGSHAN_EXIF_DEFAULT_OFFSET", default="+08:00")
# Renditions: long edges in pixels (the preview is decoded at a reduced JPEG scale).
# 500 px is what a 1/8-scale decode of a 12-megapixel photo (4000 × 3000) gives,
# enough for a phone screen and for review; a larger edge makes such photos
# decode at 1/4 scale, which costs more than the ingest budget allows.
QINGSHAN_PHOTO_THUMBNAIL_EDGE = env.int("QINGSHAN_PHOTO_THUMBNAIL_EDGE", default=256)
QINGSHAN_PHOTO_PREVIEW_EDGE = env.int("QINGSHAN_PHOTO_PREVIEW_EDGE", default=500)
# Resumable (tus) uploads: bytes received so far are kept here, on a disk all web
# processes share; unfinished uploads expire after this long.
QINGSHAN_TUS_UPLOAD_DIR = Path(env.str("QINGSHAN_TUS_UPLOAD_DIR", default=str(VAR_DIR / "uploads")))
# Where those bytes are staged (inspections/evidence/tus_staging.py): "folder" (the folder
# above, one machine or a shared disk) or "storage" (objects in the media storage, named by
# offset: any web node resumes any upload). The default follows QINGSHAN_STORAGE.
QINGSHAN_TUS_STAGING = env.str(
    "QINGSHAN_TUS_STAGING", default="storage" if QINGSHAN_STORAGE == "s3" else "folder"
)
if QINGSHAN_TUS_STAGING not in ("folder", "storage"):
    raise ImproperlyConfigured("QINGSHAN_TUS_STAGING must be folder or storage")
QINGSHAN_TUS_EXPIRY = timedelta(hours=env.int("QINGSHAN_TUS_EXPIRY_HOURS", default=72))
# A photo still received (not processed) this long after it arrived is stuck: the sweeper
# (every few minutes) sends its processing task again, and it is counted on /readyz.
QINGSHAN_PHOTO_STUCK_AFTER = timedelta(minutes=env.int("QINGSHAN_PHOTO_STUCK_AFTER_MINUTES", default=5))
# The bearer token of GET /metrics (config.metrics); unset, the endpoint is not served.
QINGSHAN_METRICS_TOKEN = env.str("QINGSHAN_METRICS_TOKEN", default="")
# Files no row refers to (originals, renditions, temporary and staging files) are removed
# by the reconciler once they are older than this.
QINGSHAN_MEDIA_ORPHAN_GRACE = timedelta(hours=env.int("QINGSHAN_MEDIA_ORPHAN_GRACE_HOURS", default=24))
# --- Digests (定期调度) -------------------------------------------------------------
# Links in emails (admin pages, the one-click unsubscribe) start with this address.
# A digest's one-click unsubscribe link works for this many days after the digest was sent.
QINGSHAN_UNSUBSCRIBE_LINK_DAYS = env.int("QINGSHAN_UNSUBSCRIBE_LINK_DAYS", default=90)
QINGSHAN_SITE_URL = env.str("QINGSHAN_SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
# Recipients per digest chunk task (their queue: CELERY_TASK_ROUTES).
QINGSHAN_DIGEST_CHUNK_SIZE = env.int("QINGSHAN_DIGEST_CHUNK_SIZE", default=50)
# A claim older than this belongs to a dead worker and may be taken again. It must
# exceed the chunk task's hard time limit (600 s), after which a live worker is killed.
QINGSHAN_DIGEST_CLAIM_TIMEOUT_SECONDS = env.int("QINGSHAN_DIGEST_CLAIM_TIMEOUT_SECONDS", default=900)
# Attempts per digest before it stays failed, and the first retry delay (doubling).
QINGSHAN_DIGEST_MAX_ATTEMPTS = env.int("QINGSHAN_DIGEST_MAX_ATTEMPTS", default=5)
QINGSHAN_DIGEST_RETRY_SECONDS = env.int("QINGSHAN_DIGEST_RETRY_SECONDS", default=60)
# Rows of the overdue CSV attachment at most (the body shows the first few).
QINGSHAN_DIGEST_CSV_MAX_ROWS = env.int("QINGSHAN_DIGEST_CSV_MAX_ROWS", default=5000)
# The mail ledger of the other emails (escalation notices, publication warnings): a claim
# older than this belongs to a dead worker; attempts before a transient failure stays
# failed, and the first retry delay (doubling).
QINGSHAN_MAIL_CLAIM_TIMEOUT_SECONDS = env.int("QINGSHAN_MAIL_CLAIM_TIMEOUT_SECONDS", default=900)
QINGSHAN_MAIL_MAX_ATTEMPTS = env.int("QINGSHAN_MAIL_MAX_ATTEMPTS", default=5)
QINGSHAN_MAIL_RETRY_SECONDS = env.int("QINGSHAN_MAIL_RETRY_SECONDS", default=60)
# The 问题台账 export: a list of at most this many problems is built in the request;
# a longer one by a worker, with a progress page (inspections/cases/exports.py).
QINGSHAN_LEDGER_EXPORT_INLINE_ROWS = env.int("QINGSHAN_LEDGER_EXPORT_INLINE_ROWS", default=5000)
# A long export that made no progress for this long is sent to a worker again when its
# progress page is read (the broker lost it, or its worker died).
QINGSHAN_LEDGER_EXPORT_RESEND_SECONDS = env.int("QINGSHAN_LEDGER_EXPORT_RESEND_SECONDS", default=120)
# Built exports (and their files) are removed this many days after they were asked for.
QINGSHAN_LEDGER_EXPORT_KEEP_DAYS = env.int("QINGSHAN_LEDGER_EXPORT_KEEP_DAYS", default=7)
