"""A stored file sent to the browser (or another system) that may see it, never run by it.

The site's case pages, the desk and the API send attachments through this one answer, so
they all carry the same headers.
"""

from typing import BinaryIO

from django.http import FileResponse


def protected_file_response(
    stream: BinaryIO, *, content_type: str, filename: str, inline: bool
) -> FileResponse:
    """``stream`` as ``filename``: shown in the page when ``inline`` (an image written again
    from its pixels), anything else as a download; the receiver told not to guess the type,
    not to run anything in it, and not to keep it."""
    response = FileResponse(
        stream,
        content_type=content_type or "application/octet-stream",
        as_attachment=not inline,
        filename=filename,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
