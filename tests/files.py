"""Files as customers send them, made by the tests: a phone photo with its GPS position, a
screenshot, a PDF, an office document, a program posing as a PDF, a damaged photo."""

import io
import zipfile

from PIL import ExifTags, Image

# Where the photo says it was taken (Madrid): it must never reach anyone who downloads it.
GPS_LATITUDE = (40.0, 25.0, 1.5)
CAMERA = "TestPhone 12"
# A signature no real virus database has: the scan tests give clamd a database with it.
TEST_VIRUS_MARK = b"HELPCENTER-TEST-VIRUS-SIGNATURE-7f3a9c"


def phone_photo(width: int = 1200, height: int = 900, *, orientation: int = 6) -> bytes:
    """A JPEG as a phone writes it: camera, GPS position and an orientation tag (6: the
    pixels lie on their side and the viewer turns them upright)."""
    image = Image.new("RGB", (width, height), (200, 60, 40))
    for x in range(0, width, 40):  # something to look at in a thumbnail
        for y in range(0, height, 40):
            image.putpixel((x, y), (255, 255, 255))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = CAMERA
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = GPS_LATITUDE
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (3.0, 42.0, 2.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def screenshot_png(width: int = 300, height: int = 200) -> bytes:
    image = Image.new("RGBA", (width, height), (20, 90, 160, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def pdf(text: bytes = b"Factura 2024-118") -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n"
        b"% " + text + b"\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )


def docx() -> bytes:
    """A Word document's first bytes as filetype reads them (a zip whose first entry is
    [Content_Types].xml, then word/)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return out.getvalue()


def program() -> bytes:
    """A Windows program (its MZ header), whatever its name says."""
    return b"MZ\x90\x00" + b"\x00" * 60 + b"PE\x00\x00" + b"\x00" * 200


def damaged_photo() -> bytes:
    """A photo cut in half: its header reads, its pixels do not."""
    photo = phone_photo(400, 300)
    return photo[: len(photo) // 2]
