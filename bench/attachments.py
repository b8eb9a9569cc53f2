"""Phone photos up through the case page, then made safe by a worker (README: Benchmarks)."""

from __future__ import annotations

import io
import os
import sys
import time
from pathlib import Path

import _support as bench
from _support import percentile, say, uptime

CAMERA = "BenchPhone 15"


def phone_photo(seed: int) -> bytes:
    """A 4000x3000 JPEG with a camera's EXIF and a GPS position (smooth noise: about as
    large as a phone's photo)."""
    from PIL import ExifTags, Image

    bands = [
        Image.effect_noise((500, 375), 40 + (seed + band) % 20).resize((4000, 3000))
        for band in range(3)
    ]
    image = Image.merge("RGB", bands)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = CAMERA
    exif[ExifTags.Base.Orientation] = 6
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (40.0, 25.0, 1.5)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def run(options, workdir: Path, cleanups: bench.Cleanups) -> bool:
    bench.use_site(workdir, "attachments", cleanups, sqlite=True)
    # One case takes every photo: lift the per-case limit (100 MB) for the run.
    os.environ["ATTACHMENT_MAX_CASE_MB"] = str(10 * options.photos)
    say(f"Load average before: {uptime()}")
    bench.start_django(cleanups)
    from django.core.files.storage import storages
    from django.test import Client

    from cases import services
    from cases.models import Attachment, Case
    from tests.factories import ContactReasonFactory, ReasonGroupFactory, weekday_hours

    weekday_hours()
    reason = ContactReasonFactory(code="bench-parcel", parent=ReasonGroupFactory(code="orders"))
    case = services.open_case(
        reason=reason, customer_email="bench@example.com", customer_name="Bench", language="es",
        subject="Paquete roto", description="Fotos del paquete.",
    )  # fmt: skip
    customer = Client(SERVER_NAME="localhost")
    link = services.issue_access_link(case=case)
    customer.get("/" + link.split("://", 1)[1].split("/", 1)[1])

    say(f"Making {options.photos} phone photos (4000x3000 JPEG, EXIF and GPS)...")
    photos = [phone_photo(seed) for seed in range(min(options.photos, 8))]
    sizes = [len(photos[n % len(photos)]) for n in range(options.photos)]
    say(f"  {sum(sizes) / len(sizes) / 1e6:.1f} MB each on average")

    url, times, started = f"/es/cases/{case.reference}/message/", [], time.perf_counter()
    for number in range(options.photos):
        photo = io.BytesIO(photos[number % len(photos)])
        photo.name = f"IMG_{number:04d}.JPG"
        begin = time.perf_counter()
        response = customer.post(url, {"body": f"Foto {number}", "attachments": [photo]})
        times.append((time.perf_counter() - begin) * 1000)
        if response.status_code != 302:
            raise RuntimeError(f"upload {number}: HTTP {response.status_code}")
    upload_seconds = time.perf_counter() - started
    stored = Attachment.objects.filter(case=case).count()
    megabytes = sum(sizes) / 1e6
    say(f"\nUploads through the view: {options.photos / upload_seconds:.1f} photos/s, "
        f"{megabytes / upload_seconds:.1f} MB/s; per upload p50 {percentile(times, 50):.0f} ms, "
        f"p95 {percentile(times, 95):.0f} ms")  # fmt: skip

    pending = list(Attachment.objects.filter(status="pending").values_list("pk", flat=True))
    process_times, process_cpu = [], []
    for pk in pending:
        begin, cpu = time.perf_counter(), time.process_time()
        services.process_attachment(attachment_id=pk)
        process_times.append((time.perf_counter() - begin) * 1000)
        process_cpu.append((time.process_time() - cpu) * 1000)
    total = sum(process_times) / 1000
    say(f"Processing in one worker process: {len(pending) / total:.2f} photos/s; per photo "
        f"p50 {percentile(process_times, 50):.0f} ms, p95 {percentile(process_times, 95):.0f} ms "
        f"({percentile(process_cpu, 50):.0f} ms of CPU)")  # fmt: skip

    storage = storages["attachments"]
    ready = Attachment.objects.filter(case=case, status="ready")
    clean = 0
    for attachment in ready:
        with storage.open(attachment.file_name, "rb") as stream:
            clean += CAMERA.encode() not in stream.read()
    lost = options.photos - stored
    say(f"\nStored {stored} of {options.photos} (lost {lost}); ready {ready.count()}; "
        f"without the camera's metadata {clean}; originals left "
        f"{sum(storage.exists(a.upload_name) for a in ready)}")  # fmt: skip
    say(f"Cases: {Case.objects.count()}")
    say(f"\nLoad average after: {uptime()}")
    return lost == 0 and ready.count() == stored == clean


if __name__ == "__main__":
    options = bench.options(__doc__, ("--photos", 40, "photos (40)"))
    sys.exit(bench.launch("bench-attachments-", run, options))
