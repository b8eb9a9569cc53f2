"""Uploaded files too large to keep are skipped while the request is read, not stored.

``SizeCappedUploadHandler`` stands first in ``FILE_UPLOAD_HANDLERS``: once a file passes
``ATTACHMENT_MAX_FILE_BYTES`` the rest of it is read and dropped (Django's ``SkipFile``), the
other fields of the form are kept, and the file's name is noted on the request, so the page
can say which file was too large while everything else the visitor typed stays in the form.
So is every file past ``request_file_budget`` in one request: a message's worth and one more.
"""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile

OVERSIZED = "oversized_uploads"


def request_file_budget() -> int:
    """The bytes of files one request may have kept: what a message may hold, and one file
    more (so the service, not the reading, says which file made the message too full)."""
    return settings.ATTACHMENT_MAX_MESSAGE_BYTES + settings.ATTACHMENT_MAX_FILE_BYTES


class SizeCappedUploadHandler(FileUploadHandler):
    def __init__(self, request=None) -> None:
        super().__init__(request)
        # One handler per request: the bytes of its files kept so far. Without a total, 100
        # files each under the per-file limit wrote a gigabyte of temporary files.
        self.kept = 0

    def new_file(self, field_name, file_name, *args, **kwargs) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        self.kept += len(raw_data)
        if self.received > settings.ATTACHMENT_MAX_FILE_BYTES or self.kept > request_file_budget():
            self.kept -= self.received  # nothing of this file is kept
            if self.request is not None:
                skipped = getattr(self.request, OVERSIZED, [])
                skipped.append((self.field_name, self.file_name))
                setattr(self.request, OVERSIZED, skipped)
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler (memory or temporary file) holds the file


def oversized_uploads(request, field_name: str) -> list[str]:
    """The names of the files sent in ``field_name`` that were too large to keep."""
    return [name for field, name in getattr(request, OVERSIZED, []) if field == field_name]
