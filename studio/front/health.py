from __future__ import annotations

from django.db import connection
from django.http import HttpResponse


class HealthCheckMiddleware:
    """Answer GET /healthz before host validation, sessions or auth get involved.

    Load balancers and Docker's HEALTHCHECK call it on whatever address reaches the container,
    which ALLOWED_HOSTS rightly does not list. 200 when the database answers, 503 otherwise.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info != "/healthz":
            return self.get_response(request)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except Exception as e:  # any database failure means "not healthy"
            body, status = f"database unavailable: {type(e).__name__}\n", 503
        else:
            body, status = "ok\n", 200
        response = HttpResponse(body, status=status, content_type="text/plain")
        response["Cache-Control"] = "no-store"
        return response
