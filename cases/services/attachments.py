"""Files attached to a case's messages: received, checked, kept and swept.

Nothing is lost on the way:

1. **In the request** each file is checked (type read from its content, the limits per file,
   per message and per case, an image's size in pixels) and written to the attachments
   storage as it came, with a PENDING row in the transaction of the message it belongs to
   (``attach_files``). A form shown again because another field needs fixing keeps the files
   it received under its one-time token (``stage_files``); sending it attaches them
   (``claim_staged_files``).
2. **After commit** ``cases.tasks.process_attachment`` (ids in, idempotent) scans the file when
   a scanner is configured (one it flags is QUARANTINED, never served), and writes an image
   again from its pixels (no EXIF, no GPS) with a thumbnail; then the row is READY.
3. **Swept**: a row still PENDING after its task was due (lost task, broker or scanner down)
   is queued again, waiting longer each time; staged files nobody sent are deleted after a
   day, and so are files written by a request whose transaction never committed.
"""

import hashlib
import io
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import BinaryIO

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage, storages
from django.db import models, transaction
from django.utils import timezone

from cases.models import Attachment, Case, CaseEvent
from cases.selectors import attachment_limits, refusal_message, staged_files, upload_token
from foundation import files
from foundation.queueing import enqueue_after_commit
from foundation.virus_scan import ScannerUnavailable, VirusScanner, scanner_from_url

logger = logging.getLogger(__name__)

# Queued by name (foundation.queueing): cases.tasks imports the services, never the reverse.
PROCESS_TASK = "cases.tasks.process_attachment"
# The sweeper queues a file's task again this long after it was due, doubling each time, at
# most every MAX_SWEEP_WAIT: a scanner that is down for hours only delays the file.
SWEEP_AFTER = timedelta(minutes=2)
MAX_SWEEP_WAIT = timedelta(hours=1)
# Files a form kept for a submission that never came, and files whose request never
# committed, are deleted after this long.
STAGED_FOR = timedelta(days=1)
# How many days of upload folders the file sweeper looks through (each past STAGED_FOR).
FILE_SWEEP_DAYS = 7


def attachment_storage() -> Storage:
    return storages["attachments"]


# --- What comes in --------------------------------------------------------------------------


@dataclass(frozen=True)
class IncomingFile:
    """A file to attach: its name as sent (only shown, never trusted) and its content, a
    readable binary file object (an upload, an email part through ``from_bytes``)."""

    name: str
    content: BinaryIO

    @classmethod
    def from_bytes(cls, name: str, data: bytes) -> "IncomingFile":
        return cls(name=name, content=io.BytesIO(data))


@dataclass(frozen=True)
class RefusedFile:
    """A file that was not attached, with why (``code``, and what the check found:
    ``params``) and that in words for the sender (``message``, the active language;
    ``selectors.refusal_message`` says it again in another)."""

    name: str
    code: str  # empty, too_large, type, unreadable, too_many, message_full, case_full
    message: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class AttachedFiles:
    attached: list[Attachment]
    refused: list[RefusedFile]


def too_large_message(name: str, size: int | None = None) -> str:
    params = {"name": name, "limit": settings.ATTACHMENT_MAX_FILE_BYTES}
    return refusal_message("too_large", params if size is None else {**params, "size": size})


@dataclass(frozen=True)
class _Checked:
    incoming: IncomingFile
    file_type: files.FileType
    size: int


def _size_of(stream: BinaryIO) -> int:
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def check_files(
    incoming: Sequence[IncomingFile],
    *,
    files_before: int = 0,
    bytes_before: int = 0,
    case_bytes: int = 0,
) -> tuple[list[_Checked], list[RefusedFile]]:
    """Which files may be attached to one message that already has ``files_before`` files
    of ``bytes_before`` bytes, on a case that holds ``case_bytes``; and why the others not."""
    limits = attachment_limits()
    accepted: list[_Checked] = []
    refused: list[RefusedFile] = []
    count, total = files_before, bytes_before

    def refuse(item: IncomingFile, code: str, **params) -> None:
        params = {"name": item.name, **params}
        refused.append(
            RefusedFile(
                name=item.name, code=code, message=refusal_message(code, params), params=params
            )
        )

    for item in incoming:
        size = _size_of(item.content)
        if size == 0:
            refuse(item, "empty")
            continue
        if size > limits.max_file:
            refuse(item, "too_large", size=size, limit=limits.max_file)
            continue
        file_type = files.sniff(files.read_head(item.content))
        if file_type is None:
            refuse(item, "type")
            continue
        if file_type.kind == "image":
            try:
                files.image_size(item.content, max_pixels=settings.ATTACHMENT_MAX_IMAGE_PIXELS)
            except files.UnreadableImage:
                refuse(item, "unreadable")
                continue
        if count + 1 > limits.max_files:
            refuse(item, "too_many", count=limits.max_files)
            continue
        if total + size > limits.max_message:
            refuse(item, "message_full", limit=limits.max_message)
            continue
        if case_bytes + total + size - bytes_before > limits.max_case:
            refuse(item, "case_full", limit=limits.max_case, used=case_bytes)
            continue
        accepted.append(_Checked(item, file_type, size))
        count, total = count + 1, total + size
    return accepted, refused


# --- Keeping them ---------------------------------------------------------------------------


def _write(checked: _Checked, *, now: datetime, **fields) -> Attachment:
    """Write the file as it came and its PENDING row (the caller's transaction)."""
    attachment = Attachment(
        name=files.download_name(checked.incoming.name or "file", checked.file_type.extension),
        content_type=checked.file_type.mime,
        kind=checked.file_type.kind,
        size=checked.size,
        created_at=now,
        next_attempt_at=now + SWEEP_AFTER,
        **fields,
    )
    digest = hashlib.sha256()
    stream = checked.incoming.content
    stream.seek(0)
    while chunk := stream.read(1024 * 1024):
        digest.update(chunk)
    stream.seek(0)
    attachment.sha256 = digest.hexdigest()
    # One folder per day and file: the sweeper finds a day's files whose row never committed.
    name = f"{now:%Y/%m/%d}/{attachment.key.hex}/upload"
    attachment.upload_name = attachment_storage().save(name, File(stream, name="upload"))
    attachment.save()
    return attachment


def _delete_files(*names: str) -> None:
    storage = attachment_storage()
    for name in names:
        if name:
            try:
                storage.delete(name)
            except Exception:  # a store that is down: the file sweeper deletes it later
                logger.warning("Could not delete attachment file %s", name, exc_info=True)


def _write_all(checked: Iterable[_Checked], *, now: datetime, **fields) -> list[Attachment]:
    written: list[Attachment] = []
    try:
        for item in checked:
            written.append(_write(item, now=now, **fields))
    except BaseException:
        # The transaction is rolled back: no file may stay without its row.
        _delete_files(*(attachment.upload_name for attachment in written))
        raise
    return written


def _case_bytes(case_id: int) -> int:
    return (
        Attachment.objects.filter(case_id=case_id).aggregate(total=models.Sum("size"))["total"] or 0
    )


@transaction.atomic
def attach_files(
    *,
    event: CaseEvent,
    files: Sequence[IncomingFile],
    source: str,
    actor: AbstractBaseUser | None = None,
    now: datetime | None = None,
) -> AttachedFiles:
    """Attach ``files`` to ``event`` (a message of a case: shown to the customer when the
    message is public, to staff only when it is internal), within the limits; refuse the
    rest, saying why (never raises for a file).

    Call it in the transaction that writes the message: each accepted file is written to the
    attachments storage now, as it came, with a PENDING row, and ``process_attachment`` is
    queued after commit (the sweeper queues it again if that is lost). ``source`` is one of
    ``Attachment.Source``; ``actor`` the member of staff who sent them, if any.
    """
    case = event.case
    now = now or timezone.now()
    # One writer per case at a time, so two messages cannot both fit in the case's limit.
    Case.objects.select_for_update().filter(pk=case.pk).first()
    existing = Attachment.objects.filter(event=event).aggregate(
        count=models.Count("pk"), total=models.Sum("size")
    )
    files_before, bytes_before = existing["count"], existing["total"] or 0
    accepted, refused = check_files(
        files,
        files_before=files_before,
        bytes_before=bytes_before,
        case_bytes=_case_bytes(case.pk),
    )
    attached = _write_all(
        accepted,
        now=now,
        case=case,
        event=event,
        source=source,
        uploaded_by=actor if actor is not None and actor.is_authenticated else None,
    )
    for attachment in attached:
        enqueue_after_commit(PROCESS_TASK, attachment.pk)
    return AttachedFiles(attached=attached, refused=refused)


@transaction.atomic
def stage_files(
    *,
    token: str,
    files: Sequence[IncomingFile],
    source: str,
    case: Case | None = None,
    actor: AbstractBaseUser | None = None,
    now: datetime | None = None,
) -> AttachedFiles:
    """Keep the files a form received under its one-time ``token`` until the form is sent
    (``claim_staged_files``), so that a form shown again for another field keeps them too.
    The limits count what the token already holds (and ``case``'s files, for a message on an
    existing case)."""
    token = upload_token(token)
    if not token or not files:
        return AttachedFiles(attached=[], refused=[])
    now = now or timezone.now()
    kept = staged_files(token)
    accepted, refused = check_files(
        files,
        files_before=len(kept),
        bytes_before=sum(attachment.size for attachment in kept),
        case_bytes=(_case_bytes(case.pk) if case is not None else 0)
        + sum(attachment.size for attachment in kept),
    )
    attached = _write_all(
        accepted,
        now=now,
        staged_token=token,
        source=source,
        uploaded_by=actor if actor is not None and actor.is_authenticated else None,
    )
    return AttachedFiles(attached=attached, refused=refused)


def claim_staged_files(
    *, token: str, case: Case, event: CaseEvent, now: datetime | None = None
) -> list[Attachment]:
    """Attach to ``event`` what the form kept under ``token``, in the caller's transaction
    (the one that writes the message), within the case's limit; queue their processing."""
    if not upload_token(token):
        return []
    now = now or timezone.now()
    budget = settings.ATTACHMENT_MAX_CASE_BYTES - _case_bytes(case.pk)
    claimed = []
    for attachment in staged_files(token):
        if attachment.size > budget:
            continue  # over the case's limit: left staged, and swept with the rest
        budget -= attachment.size
        updated = Attachment.objects.filter(pk=attachment.pk, case__isnull=True).update(
            case=case, event=event, staged_token="", next_attempt_at=now + SWEEP_AFTER
        )
        if updated:
            attachment.case, attachment.event = case, event
            claimed.append(attachment)
            enqueue_after_commit(PROCESS_TASK, attachment.pk)
    return claimed


def move_attachments(*, keys: Sequence[str], event: CaseEvent) -> list[Attachment]:
    """Give the files ``keys`` of ``event``'s case to ``event``: a held email's files, kept
    on a staff note until staff accept the email as the customer's message, then go with
    that message (seen as it is seen), and still count once against the case's limit.
    Files of another case are left alone. Returns those that are now ``event``'s."""
    files = Attachment.objects.filter(case_id=event.case_id, key__in=list(keys))
    files.exclude(event=event).update(event=event)
    return list(files)


# --- Checking them (the task) ---------------------------------------------------------------


def _scanner() -> VirusScanner | None:
    return scanner_from_url(settings.ATTACHMENT_CLAMD_URL)


def _finish(attachment: Attachment, **fields) -> bool:
    """Record the outcome if the row is still PENDING (a second run finds it done)."""
    return bool(
        Attachment.objects.filter(pk=attachment.pk, status=Attachment.Status.PENDING).update(
            next_attempt_at=None, **fields
        )
    )


def process_attachment(*, attachment_id: int, now: datetime | None = None) -> str:
    """Check one attached file: scan it (when ``ATTACHMENT_CLAMD_URL`` is set; a file the
    scanner flags is QUARANTINED and never served), write an image again from its pixels
    (no metadata) with a thumbnail and delete the original, then mark it READY (a damaged
    image: FAILED). Idempotent: a file no longer PENDING is left alone, and the names written
    are the same on every run. Returns the status it left (or "gone", "later").
    """
    now = now or timezone.now()
    attachment = Attachment.objects.filter(
        pk=attachment_id, status=Attachment.Status.PENDING, case__isnull=False
    ).first()
    if attachment is None:
        return "gone"
    storage = attachment_storage()
    scanner = _scanner()
    if scanner is not None:
        try:
            with storage.open(attachment.upload_name, "rb") as stream:
                result = scanner.scan(stream)
        except ScannerUnavailable:
            logger.warning(
                "Attachment %s waits for the virus scanner", attachment.pk, exc_info=True
            )
            return "later"  # still PENDING: the sweeper queues it again
        if not result.clean:
            logger.warning("Attachment %s quarantined: %s", attachment.pk, result.signature)
            _finish(
                attachment,
                status=Attachment.Status.QUARANTINED,
                scan_signature=result.signature,
                processed_at=now,
            )
            return Attachment.Status.QUARANTINED
    if attachment.kind != Attachment.Kind.IMAGE:
        _finish(
            attachment,
            status=Attachment.Status.READY,
            file_name=attachment.upload_name,
            processed_at=now,
        )
        return Attachment.Status.READY
    try:
        with storage.open(attachment.upload_name, "rb") as stream:
            safe = files.reencode_image(
                io.BytesIO(stream.read()), max_pixels=settings.ATTACHMENT_MAX_IMAGE_PIXELS
            )
    except files.UnreadableImage:
        _finish(attachment, status=Attachment.Status.FAILED, processed_at=now)
        return Attachment.Status.FAILED
    folder = attachment.upload_name.rsplit("/", 1)[0]
    file_name = storage.save(f"{folder}/file.{safe.image.extension}", ContentFile(safe.image.data))
    thumbnail_name = storage.save(
        f"{folder}/thumbnail.{safe.thumbnail.extension}", ContentFile(safe.thumbnail.data)
    )
    finished = _finish(
        attachment,
        status=Attachment.Status.READY,
        file_name=file_name,
        thumbnail_name=thumbnail_name,
        name=files.download_name(attachment.name, safe.image.extension),
        content_type=safe.image.mime,
        size=len(safe.image.data),
        width=safe.image.width,
        height=safe.image.height,
        thumbnail_width=safe.thumbnail.width,
        thumbnail_height=safe.thumbnail.height,
        processed_at=now,
    )
    if finished:
        # The original keeps what the camera wrote (the GPS position among it): it goes.
        _delete_files(attachment.upload_name)
    return Attachment.Status.READY


# --- Sweeping -------------------------------------------------------------------------------


def sweep_attachments(*, now: datetime | None = None) -> dict[str, int]:
    """The beat job: queue again the processing of files still PENDING past their time (lost
    task, broker or scanner down), each wait twice the last (at most ``MAX_SWEEP_WAIT``);
    delete the files forms kept for a submission that never came (``STAGED_FOR``)."""
    now = now or timezone.now()
    requeued = 0
    due = Attachment.objects.filter(
        status=Attachment.Status.PENDING, case__isnull=False, next_attempt_at__lte=now
    ).order_by("next_attempt_at")
    for attachment_id, attempts in due.values_list("pk", "attempts")[:500]:
        wait = min(SWEEP_AFTER * 2 ** min(attempts + 1, 10), MAX_SWEEP_WAIT)
        with transaction.atomic():
            Attachment.objects.filter(pk=attachment_id).update(
                attempts=attempts + 1, next_attempt_at=now + wait
            )
            enqueue_after_commit(PROCESS_TASK, attachment_id)
        requeued += 1
    abandoned = list(
        Attachment.objects.filter(case__isnull=True, created_at__lt=now - STAGED_FOR).values_list(
            "pk", "upload_name"
        )[:500]
    )
    if abandoned:
        Attachment.objects.filter(pk__in=[pk for pk, _name in abandoned]).delete()
        _delete_files(*(name for _pk, name in abandoned))
    return {"requeued": requeued, "abandoned": len(abandoned)}


def sweep_attachment_files(*, now: datetime | None = None) -> int:
    """The hourly job: delete the files of the last ``FILE_SWEEP_DAYS`` days' folders that no
    row names (written by a request whose transaction never committed). Only folders older
    than ``STAGED_FOR``: a request still running has its row yet to commit. Returns how many
    files it deleted."""
    now = now or timezone.now()
    storage = attachment_storage()
    deleted = 0
    for days_ago in range(STAGED_FOR.days + 1, STAGED_FOR.days + 1 + FILE_SWEEP_DAYS):
        day = f"{now - timedelta(days=days_ago):%Y/%m/%d}"
        try:
            folders, _files = storage.listdir(day)
        except FileNotFoundError:
            continue
        if not folders:
            continue
        known = set(
            Attachment.objects.filter(upload_name__startswith=f"{day}/").values_list(
                "upload_name", flat=True
            )
        )
        known_folders = {name.rsplit("/", 1)[0] for name in known}
        for folder in folders:
            path = f"{day}/{folder}"
            if path in known_folders:
                continue
            _dirs, names = storage.listdir(path)
            _delete_files(*(f"{path}/{name}" for name in names))
            deleted += len(names)
    return deleted
