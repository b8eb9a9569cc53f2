"""Cases: open one for a customer, read, list a customer's, reply, note, change status,
attach a file and download one."""

from types import SimpleNamespace
from uuid import UUID

from django.core.exceptions import ValidationError as ServiceRefusal
from django.http import FileResponse, HttpRequest
from django.utils import timezone
from ninja import File, Form, Query, Router, Schema, UploadedFile
from pydantic import Field

from api import pagination
from api.models import Scope
from api.v1.auth import ApiProblem, KeyAuth
from api.v1.schemas import (
    PROBLEMS,
    PROBLEMS_404,
    AttachmentIn,
    AttachmentList,
    AttachmentOut,
    CaseDetailOut,
    CaseEventOut,
    CaseOpenIn,
    CaseOut,
    CasePage,
    ContactOutcomeOut,
    CustomerNoticeIn,
    CustomerNoticeOut,
    Email,
    NoteIn,
    Problem,
    ReplyIn,
    StatusIn,
)
from api.v1.writes import Written, post
from cases import selectors, services
from foundation.downloads import protected_file_response
from foundation.uploads import oversized_uploads

router = Router(tags=["cases"])
READ = KeyAuth(Scope.CASES_READ)
WRITE = KeyAuth(Scope.CASES_WRITE)


def _case(reference: str):
    case = selectors.case_for_desk(reference.strip().upper()[:12])
    if case is None:
        raise ApiProblem("not_found", detail=reference[:12])
    return case


def _reason(code: str):
    reason = selectors.selectable_reason(code)
    if reason is None:
        raise ApiProblem("unknown_reason", detail=code)
    return reason


@post(
    router,
    "/cases",
    auth=WRITE,
    response={200: ContactOutcomeOut, 201: ContactOutcomeOut, **PROBLEMS},
    summary="Open a case on behalf of a customer",
)
def open_case(request: HttpRequest, payload: CaseOpenIn) -> Written:
    """What the contact form does with the same message (``cases.services.submit_contact``):
    201 with ``outcome: opened`` and the case (the customer gets its link by email); 200 when
    nothing was opened: ``status_link_sent`` (a question about an existing case: its link is
    emailed), ``incident_known`` (a live incident affects the reason: send again with
    ``incident_seen`` and a new Idempotency-Key to open the case anyway). Needs cases:write."""
    reason = _reason(payload.reason)
    outcome = services.submit_contact(
        reason=reason,
        subject=payload.subject,
        description=payload.description,
        name=payload.customer_name,
        email=payload.customer_email,
        language=payload.language,
        address_key=f"api-key:{request.auth.pk}",
        incident_seen=payload.incident_seen,
        # The key has its own rate limit; the contact form's per-address one is for visitors.
        limits=None,
        # The case page and its email say we opened it for the customer, not that they wrote.
        opened_by=request.auth.user,
        now=timezone.now(),
    )
    opened = outcome.kind == services.ContactOutcome.Kind.OPENED
    body = ContactOutcomeOut.from_orm(
        SimpleNamespace(outcome=outcome.kind.value, case=outcome.case, incident=outcome.incident)
    )
    resource = f"case:{outcome.case.reference}" if outcome.case is not None else ""
    return Written(201 if opened else 200, body, resource)


@post(
    router,
    "/customer-notices",
    auth=WRITE,
    response={201: CustomerNoticeOut, **PROBLEMS},
    summary="Tell one customer something before they ask",
)
def customer_notice(request: HttpRequest, payload: CustomerNoticeIn) -> Written:
    """ "Your order P-123456 is delayed, new date Thursday": emailed to the customer in their
    language (through the outbox), shown on their case page, and first on the contact form
    when they come to write about ``reason`` (``cases.services.send_customer_notice``).
    Needs cases:write: the system that opens a customer's cases tells them about them."""
    reason = _reason(payload.reason)
    notice = services.send_customer_notice(
        **payload.model_dump(exclude={"reason"}),
        reason=reason,
        actor=request.auth.user,
        now=timezone.now(),
    )
    return Written(201, CustomerNoticeOut.from_orm(notice), f"customer-notice:{notice.pk}")


class CaseListQuery(Schema):
    customer_email: Email
    cursor: str | None = Field(default=None, max_length=2000)
    limit: int = Field(default=20, ge=1, le=pagination.MAX_PAGE_SIZE)


@router.get("/cases", auth=READ, response={200: CasePage, **PROBLEMS}, summary="A customer's cases")
def list_cases(request: HttpRequest, query: Query[CaseListQuery]):
    """Every case opened from this address, newest first. Needs cases:read."""
    try:
        page = pagination.newest_first(
            selectors.cases_of_customer(query.customer_email),
            cursor=query.cursor,
            limit=query.limit,
        )
    except pagination.InvalidCursor:
        raise ApiProblem("invalid_request", detail="cursor") from None
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get(
    "/cases/{reference}",
    auth=READ,
    response={200: CaseDetailOut, **PROBLEMS_404},
    summary="A case with its history",
)
def read_case(request: HttpRequest, reference: str):
    """The case and every event on it (internal notes too: ``public`` says which the
    customer sees). Needs cases:read."""
    return _case(reference)


@post(
    router,
    "/cases/{reference}/replies",
    auth=WRITE,
    response={201: CaseEventOut, **PROBLEMS_404},
    summary="Reply to the customer",
)
def reply(request: HttpRequest, reference: str, payload: ReplyIn) -> Written:
    """A public reply, emailed to the customer at once; it moves a new case to in progress,
    or to ``status``. Needs cases:write."""
    case = _case(reference)
    event = services.reply_to_customer(
        case=case,
        body=payload.body,
        actor=request.auth.user,
        status=payload.status or "",
        now=timezone.now(),
    )
    return Written(201, CaseEventOut.from_orm(event), f"case:{case.reference}")


@post(
    router,
    "/cases/{reference}/notes",
    auth=WRITE,
    response={201: CaseEventOut, **PROBLEMS_404},
    summary="Add an internal note",
)
def note(request: HttpRequest, reference: str, payload: NoteIn) -> Written:
    """A note for staff only: never shown to the customer. Needs cases:write."""
    case = _case(reference)
    event = services.add_internal_note(case=case, body=payload.body, actor=request.auth.user)
    return Written(201, CaseEventOut.from_orm(event), f"case:{case.reference}")


@post(
    router,
    "/cases/{reference}/status",
    auth=WRITE,
    response={200: CaseOut, **PROBLEMS_404},
    summary="Change a case's status",
)
def change_status(request: HttpRequest, reference: str, payload: StatusIn) -> Written:
    """Along the case workflow (a refused move is 422 ``invalid_transition``); the customer
    hears of it in the next update email. Needs cases:write."""
    case = services.change_case_status(
        case=_case(reference), status=payload.status, actor=request.auth.user, now=timezone.now()
    )
    return Written(200, CaseOut.from_orm(case), f"case:{case.reference}")


FILE_FIELD = "file"
# Why a file of the case cannot be downloaded (yet): the problem for each state but ready.
_NOT_SERVED = {
    "pending": ("attachment_pending", {"Retry-After": "30"}),
    "quarantined": ("attachment_quarantined", {}),
    "failed": ("attachment_unreadable", {}),
}


@post(
    router,
    "/cases/{reference}/attachments",
    auth=WRITE,
    response={201: AttachmentOut, **PROBLEMS_404},
    summary="Attach a file to a case",
    openapi_extra={
        "requestBody": {
            "content": {"multipart/form-data": {"schema": {"required": [FILE_FIELD]}}},
            "required": True,
        }
    },
)
def attach(
    request: HttpRequest,
    reference: str,
    payload: Form[AttachmentIn],
    file: File[UploadedFile] = None,
) -> Written:
    """One file (multipart/form-data, field ``file``) as a message of its own on the case
    (``cases.services.share_files``): ``public`` (the default) shows it on the customer's case
    page and emails them a link to it; ``internal`` keeps it for staff. The type is read from
    the content; photos, PDF, office documents and plain text, up to the per-file, per-case
    limits. A refused file is 422 with the reason's code: ``too_large``, ``type``,
    ``unreadable``, ``case_full``, ``empty``. The file is checked after the answer (status
    ``pending``): it can be downloaded once ``ready``. Needs cases:write."""
    case = _case(reference)
    dropped = oversized_uploads(request, FILE_FIELD)
    if dropped:
        # Too large to keep: dropped while the request was read (foundation.uploads).
        raise ServiceRefusal(services.too_large_message(dropped[0]), code="too_large")
    if file is None:
        raise ApiProblem("invalid_request", detail=FILE_FIELD)
    event = services.share_files(
        case=case,
        files=[services.IncomingFile(name=file.name or "", content=file)],
        public=payload.visibility == "public",
        body=payload.message,
        actor=request.auth.user,
        now=timezone.now(),
    )
    attachment = event.attached.attached[0]
    return Written(201, AttachmentOut.from_orm(attachment), f"attachment:{attachment.key}")


@router.get(
    "/cases/{reference}/attachments",
    auth=READ,
    response={200: AttachmentList, **PROBLEMS_404},
    summary="A case's files",
)
def list_attachments(request: HttpRequest, reference: str):
    """Every file of the case's messages, oldest first, internal ones too (``visibility``
    says which the customer sees), in whatever state they are. Needs cases:read."""
    return {"items": list(selectors.case_attachments(_case(reference)))}


@router.get(
    "/cases/{reference}/attachments/{uuid:key}",
    auth=READ,
    response={**PROBLEMS_404, 409: Problem, 410: Problem},
    summary="Download a case's file",
    openapi_extra={
        "responses": {
            "200": {
                "description": "The file, as a download (an image, written again from its "
                "pixels, inline), with X-Content-Type-Options: nosniff.",
                "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def download_attachment(request: HttpRequest, reference: str, key: UUID) -> FileResponse:
    """Only a checked file is served: one still being checked is 409
    ``attachment_pending`` (with Retry-After), one the virus check held back is 410
    ``attachment_quarantined``, one that could not be read 410 ``attachment_unreadable``.
    Needs cases:read."""
    attachment = selectors.case_attachment(_case(reference), key)
    if attachment is None:
        raise ApiProblem("not_found")
    if attachment.status in _NOT_SERVED:
        code, headers = _NOT_SERVED[attachment.status]
        raise ApiProblem(code, headers=headers)
    stream = selectors.open_attachment(attachment)
    if stream is None:
        raise ApiProblem("not_found")
    return protected_file_response(
        stream,
        content_type=attachment.content_type,
        filename=attachment.name,
        inline=attachment.is_image,
    )
