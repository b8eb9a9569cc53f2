"""A virus scan by ClamAV's daemon (clamd), over its socket, with its INSTREAM command.

The protocol is a few lines (a command, the file in length-prefixed chunks, one answer line),
so it is spoken here rather than through a client package. ``scanner_from_url`` reads the
setting: ``unix:///run/clamav/clamd.ctl`` or ``tcp://127.0.0.1:3310``; an empty one means no
scan.
"""

import socket
import struct
from dataclasses import dataclass
from typing import BinaryIO, Protocol
from urllib.parse import urlsplit

CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class ScanResult:
    clean: bool
    signature: str = ""  # what was found ("Win.Test.EICAR_HDB-1"), when not clean


class ScannerUnavailable(Exception):
    """The scanner could not give an answer (not running, refused the file, timed out): the
    file is neither clean nor infected yet, and is scanned again later."""


class VirusScanner(Protocol):
    def scan(self, stream: BinaryIO) -> ScanResult: ...


class ClamdScanner:
    def __init__(self, address: str | tuple[str, int], *, timeout: float = 60.0) -> None:
        self.address = address
        self.timeout = timeout

    def _connect(self) -> socket.socket:
        family = socket.AF_UNIX if isinstance(self.address, str) else socket.AF_INET
        connection = socket.socket(family, socket.SOCK_STREAM)
        connection.settimeout(self.timeout)
        try:
            connection.connect(self.address)
        except OSError:
            connection.close()
            raise
        return connection

    def scan(self, stream: BinaryIO) -> ScanResult:
        try:
            with self._connect() as connection:
                connection.sendall(b"zINSTREAM\0")
                while chunk := stream.read(CHUNK_BYTES):
                    connection.sendall(struct.pack("!L", len(chunk)) + chunk)
                connection.sendall(struct.pack("!L", 0))
                answer = b""
                while not answer.endswith(b"\0"):
                    received = connection.recv(4096)
                    if not received:
                        break
                    answer += received
        except OSError as error:
            raise ScannerUnavailable(f"clamd at {self.address}: {error}") from error
        return _result(answer.rstrip(b"\0").decode("utf-8", "replace"))


def _result(answer: str) -> ScanResult:
    # "stream: OK", "stream: Eicar-Signature FOUND", or "<reason> ERROR" (e.g. the stream is
    # over clamd's StreamMaxLength): an error is no verdict.
    verdict = answer.split(": ", 1)[-1].strip()
    if verdict == "OK":
        return ScanResult(clean=True)
    if verdict.endswith(" FOUND"):
        return ScanResult(clean=False, signature=verdict.removesuffix(" FOUND")[:200])
    raise ScannerUnavailable(f"clamd answered: {answer[:200]}")


def scanner_from_url(url: str) -> VirusScanner | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return ClamdScanner(parts.path)
    if parts.scheme == "tcp" and parts.hostname:
        return ClamdScanner((parts.hostname, parts.port or 3310))
    raise ValueError(f"not a clamd address (unix:///path or tcp://host:port): {url!r}")
