"""The first two middlewares of every request.

RequestMiddleware gives the request its id (the caller's sane X-Request-ID or a new one) —
`request.request_id`, the `x-request-id` response header, the log context of every line
written while it runs (and the /v1 error bodies, which studio.api.http reads it for) — and
counts and times it by route for /metrics.

EndpointsMiddleware answers /healthz and /metrics before host validation, sessions or auth
get involved: load balancers, Docker's HEALTHCHECK and Prometheus call them on whatever
address reaches the process, which ALLOWED_HOSTS rightly does not list.
"""

from __future__ import annotations

import hmac
import logging
import time

from django.conf import settings
from django.http import HttpResponse

from studio.ops import health, logs

log = logging.getLogger(__name__)


class RequestMiddleware:
    def __init__(self, get_response):
        from studio.ops import metrics

        self.get_response = get_response
        self.metrics = metrics

    def __call__(self, request):
        started = time.perf_counter()
        request.request_id = logs.request_id_from(request.headers.get("X-Request-ID"))
        status = 500
        try:
            with logs.bound(request_id=request.request_id, request=request):
                response = self.get_response(request)
            status = response.status_code
            response["x-request-id"] = request.request_id
            return response
        finally:
            try:
                self.metrics.observe_request(
                    _route(request), request.method, status, time.perf_counter() - started
                )
            except Exception:  # counting must never cost the request its answer
                log.exception("could not count a request")


def _route(request) -> str:
    """The URL pattern's name (or, for an unnamed one, the pattern itself, e.g.
    "assets/<str:uid>/") — never the raw path, whose ids would make a series each."""
    if getattr(request, "ops_endpoint", None):
        return request.ops_endpoint
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name if match.url_name else match.route
    if request.path_info.startswith(settings.STATIC_URL):
        return "static"
    return "unmatched"


class EndpointsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == "/healthz":
            request.ops_endpoint = "healthz"
            return healthz(request)
        if request.path_info == "/metrics":
            request.ops_endpoint = "metrics"
            return metrics(request)
        return self.get_response(request)


def _plain(body: str, status: int = 200, content_type: str = "text/plain") -> HttpResponse:
    response = HttpResponse(body, status=status, content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response


def healthz(request) -> HttpResponse:
    """200 "ok" when the database, the cache and a worker are fine; else 503 saying which
    isn't, one line each."""
    problems = health.problems()
    if problems:
        return _plain("".join(f"{line}\n" for line in problems), status=503)
    return _plain("ok\n")


def metrics(request) -> HttpResponse:
    """The Prometheus metrics, for `Authorization: Bearer $METRICS_TOKEN`; 404 when no token
    is configured (the endpoint is off)."""
    from studio.ops import metrics as studio_metrics

    token = settings.METRICS_TOKEN
    if not token:
        return _plain("Not found.\n", status=404)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # As bytes: compare_digest refuses str with non-ASCII characters, which a header may have.
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), token.encode()
    ):
        response = _plain("Send Authorization: Bearer $METRICS_TOKEN.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return _plain(studio_metrics.render(), content_type=studio_metrics.CONTENT_TYPE)
