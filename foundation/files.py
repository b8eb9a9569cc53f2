"""What a file is, read from its content (never its name), and images made safe to show.

``sniff`` names the type from the first bytes (the ``filetype`` package: magic numbers, no
system library), or plain text when the bytes are printable UTF-8. ``reencode_image`` decodes
an image with Pillow and writes it again from its pixels: what the camera or the phone put
beside them (EXIF, GPS position, comments, XMP) is not carried over; the orientation is applied
to the pixels first, so the photo stands as it was taken. It also draws a thumbnail.
"""

import io
import warnings
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO

import filetype
from PIL import Image, ImageOps, UnidentifiedImageError

# filetype reads no more than this of a file's beginning.
HEAD_BYTES = 8192
THUMBNAIL_BOX = (480, 480)
JPEG_QUALITY = 88


@dataclass(frozen=True)
class FileType:
    mime: str
    extension: str
    kind: str  # "image", "document" or "text"


# What customers and staff may attach: photos and screenshots, PDF, office documents and
# plain text, each named by the MIME type filetype reads from its content.
_ACCEPTED = {
    "image/jpeg": ("jpg", "image"),
    "image/png": ("png", "image"),
    "image/gif": ("gif", "image"),
    "image/webp": ("webp", "image"),
    "application/pdf": ("pdf", "document"),
    "application/rtf": ("rtf", "document"),
    "application/msword": ("doc", "document"),
    "application/vnd.ms-excel": ("xls", "document"),
    "application/vnd.ms-powerpoint": ("ppt", "document"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("docx", "document"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("xlsx", "document"),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (
        "pptx",
        "document",
    ),
    "application/vnd.oasis.opendocument.text": ("odt", "document"),
    "application/vnd.oasis.opendocument.spreadsheet": ("ods", "document"),
    "application/vnd.oasis.opendocument.presentation": ("odp", "document"),
}
TEXT = FileType("text/plain", "txt", "text")


def sniff(head: bytes) -> FileType | None:
    """The accepted type of a file that starts with ``head`` (its first ``HEAD_BYTES``), or
    None: an unknown or unwanted type (a program, an archive, a video...)."""
    if not head:
        return None
    found = filetype.guess(head)
    if found is not None:
        accepted = _ACCEPTED.get(found.mime)
        return FileType(found.mime, *accepted) if accepted else None
    return TEXT if _looks_like_text(head) else None


def _looks_like_text(head: bytes) -> bool:
    # Cut at the last full line so a multi-byte character split by HEAD_BYTES is not an error.
    sample = head if len(head) < HEAD_BYTES else head[: head.rfind(b"\n") + 1] or head
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(char.isprintable() or char in "\t\n\r\f" for char in text)


def read_head(stream: BinaryIO) -> bytes:
    stream.seek(0)
    head = stream.read(HEAD_BYTES)
    stream.seek(0)
    return head


def download_name(name: str, extension: str, *, max_length: int = 120) -> str:
    """``name`` as a plain file name ending in ``extension`` (the type read from the content):
    "factura.pdf.exe" holding a PDF is offered as "factura.pdf.pdf", never as a program."""
    base = PurePosixPath(name.replace("\\", "/")).name
    base = "".join(char for char in base if char.isprintable() and char not in '"<>:|?*')
    stem = base.rsplit(".", 1)[0] if "." in base.lstrip(".") else base.lstrip(".")
    stem = " ".join(stem.split()).strip(" .") or "file"
    return f"{stem[: max_length - len(extension) - 1]}.{extension}"


class UnreadableImage(ValueError):
    """The bytes claim to be an image that Pillow cannot decode, or one too large to decode."""


@dataclass(frozen=True)
class ImageSize:
    width: int
    height: int


def image_size(stream: BinaryIO, *, max_pixels: int) -> ImageSize:
    """The image's size from its header (nothing is decoded). Raises ``UnreadableImage`` if
    it cannot be read or has more than ``max_pixels`` (a small file can decode to gigabytes)."""
    stream.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream) as image:
                width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        raise UnreadableImage(str(error)) from error
    except Image.DecompressionBombWarning as error:
        raise UnreadableImage(str(error)) from error
    finally:
        stream.seek(0)
    if width < 1 or height < 1 or width * height > max_pixels:
        raise UnreadableImage(f"{width}x{height} pixels")
    return ImageSize(width, height)


@dataclass(frozen=True)
class EncodedImage:
    data: bytes
    mime: str
    extension: str
    width: int
    height: int


@dataclass(frozen=True)
class SafeImage:
    image: EncodedImage
    thumbnail: EncodedImage


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )


def _encode(image: Image.Image, *, as_jpeg: bool, icc_profile: bytes | None) -> EncodedImage:
    out = io.BytesIO()
    extra = {"icc_profile": icc_profile} if icc_profile else {}
    if as_jpeg:
        image.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY, **extra)
        mime, extension = "image/jpeg", "jpg"
    else:
        image.convert("RGBA" if _has_alpha(image) else "RGB").save(out, "PNG", **extra)
        mime, extension = "image/png", "png"
    return EncodedImage(out.getvalue(), mime, extension, image.width, image.height)


def reencode_image(stream: BinaryIO, *, max_pixels: int) -> SafeImage:
    """The image decoded and written again from its pixels, with a thumbnail.

    Photos (JPEG, and WebP without transparency) become JPEG; screenshots and drawings (PNG,
    GIF, transparent WebP) become PNG, so text stays sharp. Only the first frame of an
    animation is kept. No metadata is copied but the colour profile. Raises
    ``UnreadableImage``."""
    image_size(stream, max_pixels=max_pixels)
    try:
        with Image.open(stream) as source:
            photo = source.format == "JPEG" or (source.format == "WEBP" and not _has_alpha(source))
            source.seek(0)
            source.load()
            # A CMYK profile means nothing once the pixels are RGB.
            icc_profile = source.info.get("icc_profile") if source.mode != "CMYK" else None
            upright = ImageOps.exif_transpose(source)
            # A copy made from the pixels alone: nothing in ``info`` (EXIF, XMP, comments,
            # text chunks) can reach the encoder by a default of some format's writer.
            pixels = Image.frombytes(upright.mode, upright.size, upright.tobytes())
            if upright.mode == "P":
                pixels.putpalette(upright.getpalette())
                if "transparency" in upright.info:
                    pixels.info["transparency"] = upright.info["transparency"]
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        raise UnreadableImage(str(error)) from error
    finally:
        stream.seek(0)
    if pixels.mode == "P" or pixels.mode not in ("RGB", "RGBA", "L", "LA"):
        pixels = pixels.convert("RGBA" if _has_alpha(pixels) else "RGB")
    full = _encode(pixels, as_jpeg=photo, icc_profile=icc_profile)
    small = pixels.copy()
    small.thumbnail(THUMBNAIL_BOX)
    thumbnail = _encode(small, as_jpeg=photo, icc_profile=icc_profile)
    return SafeImage(full, thumbnail)
