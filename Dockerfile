# One image, every role (README, "Docker"; docker-compose.yml runs them all):
#   docker run … pixapi-studio python manage.py migrate --noinput   # once, before the rest
#   docker run … pixapi-studio                              # the web: gunicorn on :8000
#   docker run … pixapi-studio python manage.py qcluster    # a django-q2 worker
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
# Exactly the versions the test suite ran with (`make lock` regenerates the lock file). The
# code itself runs from /app, not as an installed package.
COPY requirements.lock ./
RUN pip install --no-deps -r requirements.lock && pip check
COPY manage.py ./
COPY studio ./studio
COPY templates ./templates
COPY static ./static
RUN SECRET_KEY=collectstatic-only STUDIO_DATA_DIR=/tmp/build STATIC_MANIFEST=true \
    python manage.py collectstatic --noinput -v 0

FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    STUDIO_DATA_DIR=/data STATIC_MANIFEST=true
RUN useradd --create-home --uid 10001 studio && mkdir /data && chown studio /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=studio /app /app
WORKDIR /app
USER studio
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import sys,urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"
CMD ["gunicorn", "studio.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "8", "--timeout", "150", "--access-logfile", "-", "--access-logformat", "%(h)s \"%(r)s\" %(s)s %(b)s %(M)sms %({x-request-id}o)s"]
