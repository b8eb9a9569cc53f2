"""Every POST is a write made once: ``Idempotency-Key`` is required, and a retry answers
what the first request answered (``api.services.write_once``)."""

import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from ninja import Router, Schema
from ninja.responses import NinjaJSONEncoder

from api import services
from api.v1.auth import ApiProblem
from foundation.uploads import OVERSIZED

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX_LENGTH = 255


@dataclass(frozen=True)
class Written:
    """What a write endpoint answers: the status, the body, and what it wrote."""

    status: int
    body: Schema
    resource: str = ""


def idempotent(handler: Callable[..., Written]) -> Callable[..., JsonResponse]:
    """Run the endpoint once per API key and ``Idempotency-Key``; replay its answer after."""

    @functools.wraps(handler)
    def view(request: HttpRequest, *args, **kwargs) -> JsonResponse:
        idempotency_key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        # Printable characters only: a NUL would make PostgreSQL raise on the write's row.
        if (
            not idempotency_key
            or len(idempotency_key) > IDEMPOTENCY_KEY_MAX_LENGTH
            or not idempotency_key.isprintable()
        ):
            raise ApiProblem(
                "invalid_request",
                detail=f"{IDEMPOTENCY_HEADER}: 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable "
                "characters.",
            )

        def perform() -> tuple[int, dict, str]:
            written = handler(request, *args, **kwargs)
            # Encoded as ninja encodes every other answer (times to the millisecond, with
            # their zone), then kept as the JSON it is for the replay.
            body = json.loads(json.dumps(written.body.model_dump(), cls=NinjaJSONEncoder))
            return written.status, body, written.resource

        try:
            outcome = services.write_once(
                key=request.auth,
                idempotency_key=idempotency_key,
                method=request.method or "POST",
                path=request.path,
                body=_identity(request),
                perform=perform,
                now=timezone.now(),
            )
        except services.IdempotencyKeyReused:
            raise ApiProblem("idempotency_key_reused") from None
        except services.IdempotencyKeyExpired:
            raise ApiProblem("idempotency_key_expired") from None
        response = JsonResponse(outcome.body, status=outcome.status_code)
        if outcome.replayed:
            response["Idempotent-Replayed"] = "true"
        return response

    return view


def _identity(request: HttpRequest) -> bytes:
    """What makes two requests the same one for an Idempotency-Key: the body as sent; for a
    multipart upload (Django streamed it to the upload handlers and kept no copy), its fields
    and each file's field, name, size and SHA-256, and the names of files dropped as too
    large."""
    if not request.content_type.startswith("multipart/"):
        return request.body
    files = []
    for field, uploads in sorted(request.FILES.lists()):
        for upload in uploads:
            digest = hashlib.sha256()
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
            files.append([field, upload.name, upload.size, digest.hexdigest()])
    identity = {
        "fields": sorted(request.POST.lists()),
        "files": files,
        "dropped": sorted(getattr(request, OVERSIZED, [])),
    }
    return json.dumps(identity, sort_keys=True).encode()


def post(
    router: Router,
    path: str,
    *,
    response: dict,
    summary: str,
    openapi_extra: dict | None = None,
    **options,
) -> Callable:
    """``router.post`` for a write: ``idempotent``, with the header in its OpenAPI schema.
    Every POST of the API is declared through this."""

    def declare(handler: Callable[..., Written]) -> Callable:
        operation = router.post(
            path,
            response=response,
            summary=summary,
            openapi_extra={**(openapi_extra or {}), **_idempotency_header()},
            **options,
        )
        return operation(idempotent(handler))

    return declare


def _idempotency_header() -> dict:
    """The header, as the OpenAPI schema of every POST declares it."""
    return {
        "parameters": [
            {
                "name": IDEMPOTENCY_HEADER,
                "in": "header",
                "required": True,
                "description": (
                    "A unique value per write (a UUID). A retry with the same value and the "
                    "same request creates nothing again and gets the first answer, with "
                    "Idempotent-Replayed: true."
                ),
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            }
        ]
    }
