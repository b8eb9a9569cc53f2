"""The web side of attachments, shared by the customer pages and the desk: keeping the files a
form received, and sending a file to whoever may see it."""

from django.contrib.auth.models import AbstractBaseUser
from django.http import FileResponse, Http404, HttpRequest, QueryDict

from cases import selectors, services
from cases.forms import new_upload_token
from cases.models import Attachment
from cases.services import IncomingFile
from foundation.downloads import protected_file_response
from foundation.uploads import oversized_uploads

FIELD = "attachments"


def with_kept_files_token(data: QueryDict, field: str) -> QueryDict:
    """The POST with the form's one-time token, made up if the form came without one (an
    old page) or with one no form writes, so the files it brought can still be kept."""
    if selectors.upload_token(data.get(field)):
        return data
    data = data.copy()
    data[field] = new_upload_token()
    return data


def keep_uploads(
    request: HttpRequest,
    token: str,
    *,
    source: str,
    case=None,
    actor: AbstractBaseUser | None = None,
) -> list[str]:
    """Keep the files of this request under the form's ``token`` (``services.stage_files``),
    before the form is validated, so they stay with it whatever the other fields say; return
    the messages of the files refused (those too large were dropped while the request was
    read: ``foundation.uploads``)."""
    uploads = [
        IncomingFile(name=upload.name or "", content=upload)
        for upload in request.FILES.getlist(FIELD)
    ]
    kept = services.stage_files(token=token, files=uploads, source=source, case=case, actor=actor)
    too_large = [services.too_large_message(name) for name in oversized_uploads(request, FIELD)]
    return too_large + [refused.message for refused in kept.refused]


_THUMBNAIL_TYPES = {"jpg": "image/jpeg", "png": "image/png"}


def file_response(attachment: Attachment | None, *, thumbnail: bool = False) -> FileResponse:
    """The file (or an image's thumbnail) for the browser: an image inline (it was written
    again from its pixels), anything else as a download; the browser told not to guess the
    type, not to run anything in it, and not to keep it. 404 for anything else."""
    if attachment is None or (thumbnail and not attachment.thumbnail_name):
        raise Http404
    stream = selectors.open_attachment(attachment, thumbnail=thumbnail)
    if stream is None:
        raise Http404
    content_type = attachment.content_type
    if thumbnail:
        content_type = _THUMBNAIL_TYPES.get(attachment.thumbnail_name.rsplit(".", 1)[-1], "")
    return protected_file_response(
        stream, content_type=content_type, filename=attachment.name, inline=attachment.is_image
    )
