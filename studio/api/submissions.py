"""How a /v1 POST makes its job: the slow part first, then one short transaction, once per
Idempotency-Key.

`prepare()` does what is slow — checking and storing uploads, fetching an input image — with
no transaction open, and returns a Prepared (the files stored). Then one short transaction
creates the rows: the job with its reservation (`make_job`) and the Idempotency-Key record.
A refusal, or a concurrent first call that won, deletes what was stored. A repeat of a
recorded call is answered from its record before anything is prepared.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from studio.api.http import ApiError
from studio.api.models import IDEMPOTENCY_KEY_MAX, IdempotencyRecord
from studio.errors import ErrorType
from studio.generations import media

IDEMPOTENCY_WINDOW = timedelta(hours=24)


def fingerprint(endpoint: str, body: dict, files=()) -> str:
    digest = hashlib.sha256(endpoint.encode())
    digest.update(json.dumps(body, sort_keys=True, default=str).encode())
    for f in files:
        f.seek(0)
        for chunk in f.chunks():
            digest.update(chunk)
        f.seek(0)
    return digest.hexdigest()


class Prepared:
    """What a POST stored before its transaction (uploads, a fetched input image): files
    that the job's rows will point to, deleted again if the job isn't made."""

    def __init__(self):
        self.source: media.StoredMedia | None = None
        self.inputs: dict = {}
        self.names: list[str] = []

    def discard(self) -> None:
        if self.source is not None:
            self.source.delete()
        for name in self.names:
            default_storage.delete(name)


def _replay(request, key: str, endpoint: str, fingerprint: str, now, lock: bool = False):
    """The job a previous call with this Idempotency-Key made, if any (None: the key is
    free). Raise ApiError when the key was used for a different request."""
    records = IdempotencyRecord.objects.filter(api_key=request.api_key, key=key)
    if lock:
        records = records.select_for_update()
    record = records.select_related("job").first()
    if record is None:
        return None
    if record.created_at <= now - IDEMPOTENCY_WINDOW:  # older than the window: free again
        if lock:
            record.delete()
        return None
    if (record.endpoint, record.fingerprint) != (endpoint, fingerprint):
        raise ApiError(
            "This Idempotency-Key was already used for a different request; "
            "use a new key for a new request.",
            param="Idempotency-Key",
        )
    return record.job


def submit_once(request, endpoint: str, fingerprint: str, make_job, prepare=None):
    """Make the job once per Idempotency-Key (see the module docstring); return
    (job, replayed)."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > IDEMPOTENCY_KEY_MAX:
        raise ApiError(
            f"Idempotency-Key can be at most {IDEMPOTENCY_KEY_MAX} characters.",
            param="Idempotency-Key",
        )
    now = timezone.now()
    if key and (job := _replay(request, key, endpoint, fingerprint, now)):
        return job, True
    prepared = prepare() if prepare else Prepared()
    try:
        for _attempt in range(2):
            try:
                with transaction.atomic():
                    if key and (job := _replay(request, key, endpoint, fingerprint, now, True)):
                        prepared.discard()  # a concurrent first call made it meanwhile
                        return job, True
                    job = make_job(prepared)
                    if key:
                        IdempotencyRecord.objects.create(
                            api_key=request.api_key,
                            key=key,
                            endpoint=endpoint,
                            fingerprint=fingerprint,
                            job=job,
                            created_at=now,
                        )
                    return job, False
            except IntegrityError:
                continue  # a concurrent first call won; read its record
    except BaseException:
        prepared.discard()
        raise
    prepared.discard()
    raise ApiError("Could not record the Idempotency-Key; try again.", code=ErrorType.INTERNAL)
