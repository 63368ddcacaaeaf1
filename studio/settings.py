"""Pixapi Studio settings: one file, read from the environment.

Every value has a default that works on a fresh checkout (SQLite, the local renderer, media
under ./var). The helpers of studio/lib/env.py refuse malformed values with
ImproperlyConfigured instead of guessing, so a typo in production fails at start-up.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from studio.lib.env import envbool, envchoice, envdecimal, envfloat, envint, envlist, envstr

BASE_DIR = Path(__file__).resolve().parent.parent


def database_from_url(url: str) -> dict:
    """Return a DATABASES entry for sqlite:///path or postgres://user:pass@host:port/name.

    dj-database-url parses the URL (query parameters become OPTIONS, e.g. ?sslmode=require);
    this adds what the studio needs of each engine and refuses the engines it is not built for.
    """
    try:
        db = dj_database_url.parse(url)
    except ValueError as e:  # an unknown scheme or an unquoted part
        raise ImproperlyConfigured(f"DATABASE_URL is not usable: {e}") from None
    if db["ENGINE"] == "django.db.backends.sqlite3":
        # sqlite:///relative/path, sqlite:////absolute/path
        if db["NAME"] == ":memory:":
            raise ImproperlyConfigured("DATABASE_URL for sqlite needs a path: sqlite:///db.sqlite3")
        path = BASE_DIR / db["NAME"]  # an absolute NAME stays itself
        db["NAME"] = path
        # IMMEDIATE takes the write lock at BEGIN, so two transactions that read-then-write
        # (a credit reservation) serialise instead of failing with "database is locked".
        db["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        # A file, not memory: worker processes in the tests open the same test database.
        db["TEST"] = {"NAME": str(path.with_name(path.stem + "_test.sqlite3"))}
        return db
    if db["ENGINE"] == "django.db.backends.postgresql":
        if not db["NAME"]:
            raise ImproperlyConfigured("DATABASE_URL for postgres needs a database name")
        db.update(CONN_MAX_AGE=60, CONN_HEALTH_CHECKS=True)
        # A server that does not answer must not hang a process for minutes: a worker that
        # can't connect gives up, and stops on SIGTERM, within seconds.
        db.setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
        return db
    scheme = url.split("://", 1)[0]
    raise ImproperlyConfigured(
        f"DATABASE_URL must start with sqlite:// or postgres://, not {scheme!r}://"
    )


def email_from_url(url: str) -> dict:
    """Return the EMAIL_* settings for an EMAIL_URL.

    `console://` prints each mail to the log (the default: `make run` works offline);
    `smtp://user:password@host:587/?tls=1` sends through SMTP with STARTTLS (`?ssl=1` for
    implicit TLS, the usual port 465; `smtps://` says the same); `?timeout=` in seconds.
    User and password are %-encoded like any URL's.
    """
    parts = urlsplit(url)
    if parts.scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if parts.scheme not in ("smtp", "smtps"):
        raise ImproperlyConfigured(
            f"EMAIL_URL must start with smtp://, smtps:// or console://, not {url!r}"
        )
    options = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    flags = {}
    for name in ("tls", "ssl"):
        value = options.pop(name, "0").lower()
        if value not in ("0", "1", "true", "false"):
            raise ImproperlyConfigured(f"EMAIL_URL: {name} must be 1 or 0, not {value!r}")
        flags[name] = value in ("1", "true")
    flags["ssl"] = flags["ssl"] or parts.scheme == "smtps"
    if flags["tls"] and flags["ssl"]:
        raise ImproperlyConfigured("EMAIL_URL: choose tls=1 (STARTTLS) or ssl=1, not both")
    timeout = options.pop("timeout", "30")
    if options:
        raise ImproperlyConfigured(f"EMAIL_URL: unknown option {sorted(options)[0]!r}")
    try:
        port = parts.port or (465 if flags["ssl"] else 25)
        timeout = float(timeout)
    except ValueError:
        raise ImproperlyConfigured("EMAIL_URL has a port or timeout that is not a number") from None
    if not parts.hostname:
        raise ImproperlyConfigured("EMAIL_URL needs a host: smtp://user:password@host:587/?tls=1")
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port,
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": flags["tls"],
        "EMAIL_USE_SSL": flags["ssl"],
        "EMAIL_TIMEOUT": timeout,
    }


DATA_DIR = Path(envstr("STUDIO_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    # Web, worker and every gunicorn process must agree on the key (sessions, signed media
    # URLs, django-q2 task signing), so a generated key is persisted next to the data.
    if key := envstr("SECRET_KEY"):
        return key
    path = DATA_DIR / "secret_key"
    if not path.exists():
        # Write aside, then link into place: link fails if another process got there first,
        # and nobody ever reads a half-written key.
        tmp = path.with_name(f".secret_key.{os.getpid()}")
        tmp.write_text(secrets.token_urlsafe(50))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = envbool("DEBUG", False)
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if envbool("TRUST_X_FORWARDED_PROTO", False) else None
)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = envbool("SECURE_COOKIES", False)
SESSION_COOKIE_AGE = 14 * 24 * 3600

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "django_q",
    "studio.accounts",
    "studio.catalog",
    "studio.credits",
    "studio.providers",
    "studio.generations",
    "studio.gallery",
    "studio.front",
    "studio.api",
    "studio.ops",
]

MIDDLEWARE = [
    "studio.ops.middleware.RequestMiddleware",
    "studio.ops.middleware.EndpointsMiddleware",
    "studio.api.http.ApiMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "studio.urls"
WSGI_APPLICATION = "studio.wsgi.application"

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
                "studio.accounts.context_processors.workspace",
                "studio.catalog.context_processors.limits",
            ],
            "builtins": [
                "template_partials.templatetags.partials",
                "studio.front.templatetags.studio",
            ],
        },
    }
]

DATABASES = {
    "default": database_from_url(envstr("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}"))
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Web and worker processes must share the cache: django-q2 keeps its cluster status there.
# With REDIS_URL it is Redis; otherwise a table in the database that a migration creates
# (generations 0004), so `manage.py migrate` alone readies every role.
REDIS_URL = envstr("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "studio_cache",
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
# Password reset mails (and any other): EMAIL_URL, see email_from_url.
globals().update(email_from_url(envstr("EMAIL_URL", "console://")))
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "Pixapi Studio <studio@localhost>")
LOGIN_REDIRECT_URL = "studio"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = envstr("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(envstr("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
# Serve straight from the source folders when collectstatic has not run (make run, tests);
# the Docker image runs collectstatic and gets hashed, compressed files.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(DATA_DIR / "media"))).resolve()
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if envbool("STATIC_MANIFEST", False)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
S3_BUCKET = envstr("S3_BUCKET")
if S3_BUCKET:
    bucket = {
        "bucket_name": S3_BUCKET,
        "endpoint_url": envstr("S3_ENDPOINT_URL") or None,
        "region_name": envstr("S3_REGION") or None,
        "access_key": envstr("S3_ACCESS_KEY_ID") or None,
        "secret_key": envstr("S3_SECRET_ACCESS_KEY") or None,
        "default_acl": None,
        "querystring_auth": True,
        "file_overwrite": False,
    }
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": bucket}
    # Media are served by redirecting to presigned URLs, which are signed for the host the
    # browser will ask: the bucket's public address when ours is internal (MinIO in compose).
    public = envstr("S3_PUBLIC_ENDPOINT_URL") or bucket["endpoint_url"]
    STORAGES["bucket_urls"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {**bucket, "endpoint_url": public},
    }

# Media we hand out are signed URLs that expire; this is how long one stays valid.
MEDIA_URL_TTL = envint("MEDIA_URL_TTL", 6 * 3600, minimum=60)
# Absolute base URL of this studio as the upstream platform can reach it (for input_image).
STUDIO_PUBLIC_URL = envstr("STUDIO_PUBLIC_URL").rstrip("/")

# --- the provider -------------------------------------------------------------------------
STUDIO_PROVIDER = envchoice("STUDIO_PROVIDER", "local", ("local", "pixapi"))
PIXAPI_BASE_URL = envstr("PIXAPI_BASE_URL", "https://api.pixapi.ai").rstrip("/")
PIXAPI_API_KEY = envstr("PIXAPI_API_KEY")
PIXAPI_TIMEOUT = envfloat("PIXAPI_TIMEOUT", 120.0, minimum=1.0)
# Downloads of provider results: the biggest file we accept, and whether loopback / private
# addresses are allowed (only for tests and a studio chained to another on the same host).
PROVIDER_MAX_DOWNLOAD_BYTES = envint("PROVIDER_MAX_DOWNLOAD_BYTES", 200 * 1024 * 1024, minimum=1)
PROVIDER_ALLOW_PRIVATE_URLS = envbool("PROVIDER_ALLOW_PRIVATE_URLS", False)
LOCAL_PROVIDER_FAIL_RATE = envfloat("LOCAL_PROVIDER_FAIL_RATE", 0.0, minimum=0.0, maximum=1.0)
LOCAL_PROVIDER_LATENCY = envfloat("LOCAL_PROVIDER_LATENCY", 0.0, minimum=0.0, maximum=60.0)
LOCAL_PROVIDER_MEDIA_DIR = DATA_DIR / "provider"

# --- credits and the API --------------------------------------------------------------------
STARTER_CREDITS = envdecimal("STARTER_CREDITS", "500")
API_RATE_LIMIT = envint("API_RATE_LIMIT", 60, minimum=1)  # requests per minute per key
API_RATE_BURST = envint("API_RATE_BURST", 20, minimum=1)
API_MAX_BODY_BYTES = envint("API_MAX_BODY_BYTES", 25 * 1024 * 1024, minimum=1024)
API_SYNC_WAIT = envfloat("API_SYNC_WAIT", 120.0, minimum=1.0)
# Make slow work inside a transaction raise instead of stalling every workspace (the test
# suite turns it on; see studio/lib/transactions.py).
STUDIO_IO_GUARD = envbool("STUDIO_IO_GUARD", False)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- the worker -----------------------------------------------------------------------------
Q_WORKERS = envint("Q_WORKERS", 4, minimum=1)
Q_TIMEOUT = envint("Q_TIMEOUT", 600, minimum=10)
Q_CLUSTER = {
    "name": "studio",
    "workers": Q_WORKERS,
    "recycle": 200,
    # A task may run this long; the broker redelivers it only after `retry`, which must be
    # longer. Every task is idempotent (jobs are claimed with conditional updates), so a
    # redelivery after a crash changes nothing twice.
    "timeout": Q_TIMEOUT,
    "retry": Q_TIMEOUT + 60,
    "max_attempts": 3,
    "ack_failures": True,
    "save_limit": 500,
    "poll": 0.1,
    "catch_up": False,
    "cache": "default",
    "label": "Worker",
}
if REDIS_URL:
    Q_CLUSTER.update(redis=REDIS_URL, broker_class="studio.generations.brokers.Redis")
else:
    Q_CLUSTER.update(orm="default", broker_class="studio.generations.brokers.ORM")

# --- operating it ---------------------------------------------------------------------------
# /metrics answers only with `Authorization: Bearer $METRICS_TOKEN`, and is off (404) unset.
METRICS_TOKEN = envstr("METRICS_TOKEN")
# Where each process keeps its counters for /metrics (studio.ops.metrics): shared by every
# web process and worker whose counters one scrape should add up.
METRICS_DIR = Path(envstr("PROMETHEUS_MULTIPROC_DIR", str(DATA_DIR / "metrics"))).resolve()
# /healthz fails when no worker has written its heartbeat for this many seconds.
WORKER_HEARTBEAT_MAX_AGE = envint("WORKER_HEARTBEAT_MAX_AGE", 60, minimum=2)

LOG_FORMAT = envchoice("LOG_FORMAT", "plain", ("plain", "json"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Every line says which request, user, workspace and job it is about (studio.ops.logs).
    "filters": {"context": {"()": "studio.ops.logs.ContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s%(context)s"},
        "json": {"()": "studio.ops.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO").upper()},
    "loggers": {
        # django-q2 adds a handler of its own unless it finds one: ours, so its lines are
        # formatted like every other.
        "django-q": {
            "handlers": ["console"],
            "propagate": False,
            "level": envstr("Q_LOG_LEVEL", "WARNING").upper(),
        },
        "httpx": {"level": "WARNING"},
    },
}
