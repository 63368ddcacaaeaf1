# One image, two roles: the web server (default command) or a worker:
#   docker run … pixapi-studio                              # gunicorn on :8000
#   docker run … pixapi-studio python manage.py qcluster    # a django-q2 worker
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
COPY pyproject.toml README.md ./
COPY studio ./studio
# Install the dependencies, then drop the package itself: the code runs from /app.
RUN pip install ".[postgres,redis,s3]" && pip uninstall -y pixapi-studio
COPY manage.py ./
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
CMD ["gunicorn", "studio.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "8", "--timeout", "150", "--access-logfile", "-"]
