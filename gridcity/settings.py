"""GridCity settings: every value that differs between machines comes from the environment.

The embedded default (no variables set) is one machine with no servers: a SpatiaLite file under
``var/``, Celery on kombu's filesystem transport, the in-memory channel layer. Production sets
``DATABASE_URL`` (PostGIS), ``REDIS_URL``, ``SECRET_KEY``, ``DEBUG=0`` and ``ALLOWED_HOSTS``.
See the table in README.md.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
VAR_DIR = Path(env.str("GRIDCITY_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=True)


def _secret_key() -> str:
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # The embedded default keeps one generated key, so sessions survive restarts.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()


def _redis_db_shifted(url: str, by: int) -> str:
    """``url`` with its database number moved by ``by`` (modulo Redis' 16 databases)."""
    parts = urlsplit(url)
    db = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(db + by) % 16}"))


ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "rest_framework_gis",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "knox",
    "guardian",
    "axes",
    "leaflet",
    "channels",
    # The portal's captcha (portal.abuse): images drawn here with Pillow, no outside service.
    "captcha",
    "gridcity",
    "accounts",
    "cases",
    "patrol",
    "desk",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads the body: a body over its route's limit is a 413, unread.
    "gridcity.middleware.BodyLimitMiddleware",
    # Before anything reads a parameter: a %00 would reach PostgreSQL as an error (a 500).
    "gridcity.api.middleware.NulRefusedMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a lockout into a 429 answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "gridcity.urls"
WSGI_APPLICATION = "gridcity.wsgi.application"
ASGI_APPLICATION = "gridcity.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"spatialite:///{VAR_DIR / 'gridcity.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.contrib.gis.db.backends.spatialite":
    # One writer at a time on SQLite, in order (gridcity.db): WAL, so a reader never waits for
    # a writer; BEGIN IMMEDIATE, so a transaction queues for the write lock when it starts,
    # rather than failing at once ("database is locked") when a read-then-write transaction
    # finds another writer got in first; and a busy timeout, the longest wait in that queue.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options.setdefault("timeout", env.int("GRIDCITY_SQLITE_BUSY_TIMEOUT", default=20))
    options.setdefault("transaction_mode", "IMMEDIATE")
    options.setdefault("init_command", "PRAGMA journal_mode=WAL")
    # Tests run on Django's in-memory database (named, so that parallel test workers keep
    # one each rather than deriving a file name from the path above), or on GRIDCITY_TEST_DB.
    DATABASES["default"]["TEST"] = {"NAME": env.str("GRIDCITY_TEST_DB", default=":memory:")}
    SPATIALITE_LIBRARY_PATH = env.str("SPATIALITE_LIBRARY_PATH", default="mod_spatialite")
else:
    # A pool of connections per process (Django's psycopg pool): opening a PostgreSQL
    # connection forks a server process, which costs more than a whole API request, and under
    # ASGI every request runs in a thread of its own, so persistent per-thread connections
    # (CONN_MAX_AGE) would pile up until PostgreSQL refuses more. The pool bounds them.
    # GRIDCITY_DB_POOL_SIZE=0 turns it off (e.g. behind PgBouncer), and CONN_MAX_AGE applies.
    GRIDCITY_DB_POOL_SIZE = env.int("GRIDCITY_DB_POOL_SIZE", default=8)
    if GRIDCITY_DB_POOL_SIZE > 0:
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": GRIDCITY_DB_POOL_SIZE,
            "timeout": env.float("GRIDCITY_DB_POOL_TIMEOUT", default=10.0),
        }
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
IS_POSTGIS = DATABASES["default"]["ENGINE"] == "django.contrib.gis.db.backends.postgis"
# How many times a write that SQLite found locked is run before the API answers 409 (gridcity.db).
GRIDCITY_DB_LOCKED_ATTEMPTS = env.int("GRIDCITY_DB_LOCKED_ATTEMPTS", default=3)

# gis.W001: GDAL older than 3.9 (Debian 12 ships 3.6) cannot block file and network access from
# spatial reference strings. No request reaches GDAL with one: the API takes only the crs names
# wgs84/gcj02/bd09, and files with their own spatial reference come from operators' commands.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "desk"  # /desk/ sends each person to their workbench

AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses a locked-out username or address before any password check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # django-guardian: object permissions a person grants by hand (a street lent for a month).
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row; anonymous visitors see public data

# Handheld tokens (django-rest-knox): stored only as a hash; a token not used for
# GRIDCITY_TOKEN_IDLE_DAYS expires, and every use pushes its expiry forward.
GRIDCITY_TOKEN_IDLE_DAYS = env.int("GRIDCITY_TOKEN_IDLE_DAYS", default=30)
KNOX_TOKEN_MODEL = "knox.AuthToken"
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=GRIDCITY_TOKEN_IDLE_DAYS),
    "AUTO_REFRESH": True,
    "MIN_REFRESH_INTERVAL": 60,
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_LIMIT_PER_USER": None,
}

# Failed log-ins (django-axes): after GRIDCITY_LOGIN_FAILURE_LIMIT failures for one user name,
# or from one address, further attempts get 429 for GRIDCITY_LOGIN_COOLOFF_MINUTES. Behind a
# proxy the client address comes from X-Forwarded-For only when GRIDCITY_TRUSTED_PROXIES says
# how many proxies to trust; otherwise a client could forge it.
AXES_FAILURE_LIMIT = env.int("GRIDCITY_LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("GRIDCITY_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username"], ["ip_address"]]
# Not axes' reset on success: it forgives every failure sharing the user name OR the address,
# so a good log-in as one person would wipe an address's guesses at another's password.
# accounts.auth.login_failures_forgive forgives only that user name from that address.
AXES_RESET_ON_SUCCESS = False
AXES_VERBOSE = False
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
AXES_SENSITIVE_PARAMETERS = ["password", "token"]
GRIDCITY_TRUSTED_PROXIES = env.int("GRIDCITY_TRUSTED_PROXIES", default=0)
# ipware's proxy_count counts the addresses after the client's in X-Forwarded-For: one trusted
# proxy appends nothing after the client, so N trusted proxies leave N - 1 addresses behind it.
AXES_IPWARE_PROXY_COUNT = GRIDCITY_TRUSTED_PROXIES - 1 if GRIDCITY_TRUSTED_PROXIES else None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if GRIDCITY_TRUSTED_PROXIES else ["REMOTE_ADDR"]
)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Redis: broker, channel layer and cache when set ------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL and (_worker := os.environ.get("PYTEST_XDIST_WORKER", "")).startswith("gw"):
    # A parallel test run: each worker clears its cache (FLUSHDB) between tests, so each
    # gets a Redis database of its own, counting down from the one given.
    REDIS_URL = _redis_db_shifted(REDIS_URL, -int(_worker[2:]))

if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://localhost/")
CELERY_BROKER_DIR = VAR_DIR / "celery"
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport: a broker that needs no server, for the embedded default.
    for sub in ("queue", "processed", "control"):
        (CELERY_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Every periodic schedule is declared here, in one place.
CELERY_BEAT_SCHEDULE: dict = {
    "cases-mark-overdue": {"task": "cases.tasks.cases_mark_overdue_task", "schedule": 60.0},
    "cases-warn-due-soon": {"task": "cases.tasks.cases_warn_due_soon_task", "schedule": 300.0},
    "accounts-purge-expired-tokens": {
        "task": "accounts.tasks.tokens_expired_purge_task",
        "schedule": 3600.0,
    },
    "patrol-close-idle-shifts": {"task": "patrol.tasks.shifts_close_idle_task", "schedule": 60.0},
    "patrol-partitions-ahead": {
        "task": "patrol.tasks.track_partitions_ahead_task",
        "schedule": 3600.0,
    },
    # 02:30 local (CELERY_TIMEZONE): after the day's last shifts closed, before anyone reads them.
    "patrol-reports-nightly": {
        "task": "patrol.tasks.shift_reports_nightly_task",
        "schedule": crontab(hour=2, minute=30),
    },
    # 03:30 local: retention of the tracks (GRIDCITY_PATROL_RETENTION_DAYS), personal data.
    "patrol-prune-tracks": {
        "task": "patrol.tasks.tracks_prune_task",
        "schedule": crontab(hour=3, minute=30),
    },
    # The portal's captcha challenges that ran out unanswered (portal.abuse).
    "portal-captcha-expired-purge": {
        "task": "portal.tasks.captcha_challenges_expired_purge_task",
        "schedule": 3600.0,
    },
    # Notifications for the outside channel that are due (a first try lost, or a retry).
    "cases-notifications-deliver": {
        "task": "cases.tasks.notifications_drain_task",
        "schedule": 60.0,
    },
    # Photos whose thumbnail and display copy were never made (their task was lost).
    "cases-photo-copies-catch-up": {
        "task": "cases.tasks.case_photo_copies_catch_up_task",
        "schedule": 300.0,
    },
}

# --- Cases ----------------------------------------------------------------------------------
# Working periods of the working calendar (工作时), local time.
GRIDCITY_WORKING_HOURS = env.str("GRIDCITY_WORKING_HOURS", default="08:30-12:00,14:00-18:00")
GRIDCITY_CALENDAR_CHECK_SECONDS = env.int("GRIDCITY_CALENDAR_CHECK_SECONDS", default=5)
# Open cases of the same item this close are offered as duplicates of a new report.
GRIDCITY_DUPLICATE_RADIUS_M = env.float("GRIDCITY_DUPLICATE_RADIUS_M", default=50.0)
# How long before a handling deadline the department is warned.
GRIDCITY_WARN_BEFORE_MINUTES = env.int("GRIDCITY_WARN_BEFORE_MINUTES", default=120)
# A photo whose GPS lies further than this from its case is flagged.
GRIDCITY_PHOTO_FAR_M = env.float("GRIDCITY_PHOTO_FAR_M", default=500.0)
# Outside channel for notifications (SMS, e-mail, app push): a dotted path; logs by default.
GRIDCITY_NOTIFY_BACKEND = env.str("GRIDCITY_NOTIFY_BACKEND", default="cases.notify.log_backend")
# A notification the outside channel failed to take is tried again after 1, 2, 4 … minutes (at
# most an hour apart), this many times in all, then given up (cases.notify, the outbox).
GRIDCITY_NOTIFY_MAX_ATTEMPTS = env.int("GRIDCITY_NOTIFY_MAX_ATTEMPTS", default=12)
# The e-mail outside channel (GRIDCITY_NOTIFY_BACKEND=cases.notify.email_backend) sends through
# Django's mail: EMAIL_URL=smtp+tls://user:password@smtp.example.org:587 (django-environ's
# form). Without one, mail is written to the console (a development default, never production).
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="GridCity <noreply@localhost>")

# --- the public side and the hotline (12345) ------------------------------------------------
# Time to answer a request, per request type, on the working calendar ("work_days",
# "work_hours" or "clock_hours"). The defaults are one city's rule (docs/hotline.md):
# consultation and help within 3 working days, complaints and reports within 13, suggestions
# and praise within 5.
GRIDCITY_REPLY_LIMITS = {
    "consultation": (3, "work_days"),
    "help": (3, "work_days"),
    "complaint": (13, "work_days"),
    "report": (13, "work_days"),
    "suggestion": (5, "work_days"),
    "praise": (5, "work_days"),
}
# 回访: the hotline calls a citizen back within this many working days after their case closed.
GRIDCITY_CALLBACK_WORKING_DAYS = env.int("GRIDCITY_CALLBACK_WORKING_DAYS", default=2)
# 不满意重办: how long after closing a reporter may reopen an unsatisfying result, in days.
GRIDCITY_REOPEN_DAYS = env.int("GRIDCITY_REOPEN_DAYS", default=7)
# The city's 12345 platform (portal.platform, docs/hotline.md): where the answers to its
# tickets are posted (empty: logged), the shared secret that signs them (HMAC-SHA256), and the
# backend that delivers every other notification when platform_backend is the outside channel.
GRIDCITY_PLATFORM_ANSWER_URL = env.str("GRIDCITY_PLATFORM_ANSWER_URL", default="")
GRIDCITY_PLATFORM_SECRET = env.str("GRIDCITY_PLATFORM_SECRET", default="")
GRIDCITY_PLATFORM_NEXT_BACKEND = env.str(
    "GRIDCITY_PLATFORM_NEXT_BACKEND", default="cases.notify.log_backend"
)
# Case photos (cases.photos): the largest upload, and the most pixels its header may declare
# (Pillow's decompression-bomb guard is set to the same number, cases.apps).
GRIDCITY_PHOTO_MAX_BYTES = env.int("GRIDCITY_PHOTO_MAX_BYTES", default=10 * 2**20)
GRIDCITY_PHOTO_MAX_PIXELS = env.int("GRIDCITY_PHOTO_MAX_PIXELS", default=40_000_000)

# --- Patrol ---------------------------------------------------------------------------------
# A shift its fixes opened by themselves is closed (at its last fix) after this long without a
# fix; a fix this long after the last one of its shift, or before the first, starts another.
GRIDCITY_PATROL_IDLE_MINUTES = env.int("GRIDCITY_PATROL_IDLE_MINUTES", default=30)
# A shift the inspector started (上岗) is not cut by a gap in the fixes (lunch indoors, a dead
# zone): it ends when the inspector ends it, after this long without a fix, or this many hours
# after its start, whichever comes first. The gaps inside it are offline time in its report.
GRIDCITY_PATROL_SHIFT_SILENCE_MINUTES = env.int(
    "GRIDCITY_PATROL_SHIFT_SILENCE_MINUTES", default=120
)
GRIDCITY_PATROL_SHIFT_MAX_HOURS = env.int("GRIDCITY_PATROL_SHIFT_MAX_HOURS", default=16)
# Filters of incoming fixes (patrol.filters): device clocks run a little ahead; handhelds buffer
# a week offline at most; Android's accuracy is a 68 % radius, and beyond 100 m a fix says
# little about which street an inspector walked; 120 km/h is beyond any patrol on foot,
# bicycle or scooter in town, so faster means a jump of the position, not a journey.
GRIDCITY_PATROL_FUTURE_SECONDS = env.int("GRIDCITY_PATROL_FUTURE_SECONDS", default=300)
GRIDCITY_PATROL_MAX_AGE_DAYS = env.int("GRIDCITY_PATROL_MAX_AGE_DAYS", default=7)
GRIDCITY_PATROL_MAX_ACCURACY_M = env.float("GRIDCITY_PATROL_MAX_ACCURACY_M", default=100.0)
GRIDCITY_PATROL_MAX_SPEED_KMH = env.float("GRIDCITY_PATROL_MAX_SPEED_KMH", default=120.0)
# Fixes are personal data of employees: kept this many days, then dropped (prune_tracks).
GRIDCITY_PATROL_RETENTION_DAYS = env.int("GRIDCITY_PATROL_RETENTION_DAYS", default=180)
# One upload: at most this many fixes, and this many bytes once decompressed.
GRIDCITY_PATROL_MAX_BATCH = env.int("GRIDCITY_PATROL_MAX_BATCH", default=1000)
GRIDCITY_PATROL_MAX_BODY_BYTES = env.int("GRIDCITY_PATROL_MAX_BODY_BYTES", default=20 * 2**20)
# A GPX file uploaded to /api/v1/patrol/gpx/: 10 MB is about 60,000 track points, a week of
# fixes every 10 s; gpxpy holds the whole file in memory while it reads it.
GRIDCITY_PATROL_MAX_GPX_BYTES = env.int("GRIDCITY_PATROL_MAX_GPX_BYTES", default=10 * 2**20)
# Daily partitions of the track points made ahead of time (PostgreSQL), besides today.
GRIDCITY_PATROL_PARTITIONS_AHEAD_DAYS = env.int("GRIDCITY_PATROL_PARTITIONS_AHEAD_DAYS", default=2)
# Live positions (/ws/patrol/): at most one frame per this many seconds to a watching socket;
# an inspector's last position is shown for this long after their last fix.
GRIDCITY_PATROL_LIVE_INTERVAL_S = env.float("GRIDCITY_PATROL_LIVE_INTERVAL_S", default=1.0)
GRIDCITY_PATROL_LIVE_TTL_S = env.int("GRIDCITY_PATROL_LIVE_TTL_S", default=900)
# What an inspector must do in a day, district-wide; a grid's PatrolRequirement (admin)
# overrides any of them: laps of the grid's checkpoints, minutes online, share of the grid
# covered (0..1), and every checkpoint visited for its minimum dwell.
GRIDCITY_PATROL_REQUIRED_LAPS = env.int("GRIDCITY_PATROL_REQUIRED_LAPS", default=2)
GRIDCITY_PATROL_REQUIRED_ONLINE_MINUTES = env.int(
    "GRIDCITY_PATROL_REQUIRED_ONLINE_MINUTES", default=360
)
GRIDCITY_PATROL_REQUIRED_COVERAGE = env.float("GRIDCITY_PATROL_REQUIRED_COVERAGE", default=0.5)
GRIDCITY_PATROL_REQUIRE_ALL_CHECKPOINTS = env.bool(
    "GRIDCITY_PATROL_REQUIRE_ALL_CHECKPOINTS", default=True
)

# --- Citizen portal: abuse guards (portal.abuse) ----------------------------------------------
# Reports accepted from one client address in a (fixed) hour, and for one phone number in a
# (fixed) 24 hours; the next one is refused with 429 until the window ends. The counts live in
# the cache: Redis in production, one process's memory on the embedded default.
GRIDCITY_REPORTS_PER_ADDRESS_HOUR = env.int("GRIDCITY_REPORTS_PER_ADDRESS_HOUR", default=10)
GRIDCITY_REPORTS_PER_PHONE_DAY = env.int("GRIDCITY_REPORTS_PER_PHONE_DAY", default=5)
# After this many reports in the hour from one address, an anonymous report needs a captcha.
GRIDCITY_CAPTCHA_AFTER = env.int("GRIDCITY_CAPTCHA_AFTER", default=3)
# Words that hold a report for moderation (comma-separated; matched ignoring case and width).
GRIDCITY_SPAM_WORDS = env.list("GRIDCITY_SPAM_WORDS", default=[])
# django-simple-captcha: a challenge is good for this many minutes (the library's 5 is short
# for a form a person fills in on a phone), and for one answer, right or wrong.
CAPTCHA_TIMEOUT = env.int("GRIDCITY_CAPTCHA_TIMEOUT_MINUTES", default=20)

# --- Request bodies -------------------------------------------------------------------------
# Every body is refused (413) by its Content-Length before a byte of it is read, and a body sent
# without one (chunked) as soon as it passes the limit of its route (gridcity.middleware): a
# case photo may take GRIDCITY_PHOTO_MAX_BYTES, the track upload GRIDCITY_PATROL_MAX_BODY_BYTES,
# a GPX file GRIDCITY_PATROL_MAX_GPX_BYTES (each with room for the multipart framing), and
# everything else this much: the largest JSON or form body of the API is a few kilobytes.
GRIDCITY_MAX_BODY_BYTES = env.int("GRIDCITY_MAX_BODY_BYTES", default=2**20)
# Django's own limits, stated: a body read whole into memory (JSON, a form) at most this; the
# file parts of a multipart body beyond FILE_UPLOAD_MAX_MEMORY_SIZE are streamed to a temporary
# file, never held in memory (so is the body itself under ASGI beyond that size).
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Front-end packages from the npm registry (package.json), installed by scripts/setup.sh into
# node_modules/ and served from here: no page fetches anything from a CDN.
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "gridcity" / "static",
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/markercluster", NODE_MODULES / "leaflet.markercluster" / "dist"),
]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Security (production values when DEBUG is off) -----------------------------------------
# The scheme a proxy says it received is believed only from a trusted proxy, like the address:
# without one, any client could call a plain request secure.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if GRIDCITY_TRUSTED_PROXIES else None
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
X_FRAME_OPTIONS = "DENY"

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes a missing credential a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.DeviceTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Closed by default: an endpoint open to anonymous callers says so itself.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_SCHEMA_CLASS": "gridcity.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "gridcity.api.errors.exception_handler",
    "DEFAULT_FILTER_BACKENDS": ["gridcity.api.filters.FilterWhenAskedBackend"],
    # Strict JSON (gridcity.jsonsafe): no NaN, 1e400, lone surrogate, NUL or 64+ levels; no NUL
    # in a form either (400).
    "DEFAULT_PARSER_CLASSES": [
        "gridcity.api.parsers.JSONParser",
        "gridcity.api.parsers.FormParser",
        "gridcity.api.parsers.MultiPartParser",
    ],
}
# The largest box (degrees of longitude and of latitude) a ``bbox`` filter accepts: Bao'an
# spans 0.4°, Shenzhen 0.9°; a bigger box is not a map of one district but a scan of it.
GRIDCITY_API_MAX_BBOX_DEGREES = env.float("GRIDCITY_API_MAX_BBOX_DEGREES", default=5.0)
SPECTACULAR_SETTINGS = {
    "TITLE": "GridCity API",
    "DESCRIPTION": "City grid management: hierarchy, locate, cases and patrols.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CaseStatusEnum": "cases.models.Status",
        "ShiftStatusEnum": "patrol.models.ShiftStatus",
        "RequestTypeEnum": "cases.models.RequestType",
        # The request types a citizen may give a report from the portal (a subset).
        "CitizenRequestTypeEnum": "portal.services.REPORT_REQUEST_TYPE_CHOICES",
    },
    # Fields a model allows to be null are nullable in the schema too; each operation lists its
    # error answers with the error body (gridcity.api.schema).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "gridcity.api.schema.drop_unused_components",
    ],
}

# --- Maps -----------------------------------------------------------------------------------
# Base tiles are optional: with none configured the grid polygons alone make the map, which is
# what a closed network gets. Set GRIDCITY_TILE_URL (e.g. an internal tile server) to add them.
GRIDCITY_TILE_URL = env.str("GRIDCITY_TILE_URL", default="")
GRIDCITY_TILE_ATTRIBUTION = env.str("GRIDCITY_TILE_ATTRIBUTION", default="")
LEAFLET_CONFIG = {
    "DEFAULT_CENTER": (22.65, 113.85),
    "DEFAULT_ZOOM": 11,
    "TILES": [(_("Base map"), GRIDCITY_TILE_URL, {"attribution": GRIDCITY_TILE_ATTRIBUTION})]
    if GRIDCITY_TILE_URL
    else [],
    "RESET_VIEW": False,
}

# --- Grid hierarchy -------------------------------------------------------------------------
# How far (metres) a child may stray outside its parent, and two sibling grids into each other,
# before validation refuses it: digitised boundaries never meet exactly.
GRIDCITY_GEOMETRY_TOLERANCE_M = env.float("GRIDCITY_GEOMETRY_TOLERANCE_M", default=1.0)
# How often (seconds) each process checks whether the grids changed elsewhere.
GRIDCITY_LOCATE_INDEX_CHECK_SECONDS = env.float("GRIDCITY_LOCATE_INDEX_CHECK_SECONDS", default=1.0)
# How often each process checks whether the codes and names a case list shows (items, grids,
# streets, departments) changed elsewhere (gridcity.codebook).
GRIDCITY_CODEBOOK_CHECK_SECONDS = env.float("GRIDCITY_CODEBOOK_CHECK_SECONDS", default=1.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
