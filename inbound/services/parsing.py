"""What a raw message says, read without trusting it: who wrote it, to whom, about what, in
which words, with which files; whether a machine sent it (an auto-reply, a list, a bounce).

Pure functions over bytes: nothing here touches the database. ``parse_message`` raises
``UnreadableMessage`` when there is nothing sensible to take from the bytes; the caller files
such a message for staff with its original.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, HeaderParser
from email.utils import getaddresses, parseaddr
from html import unescape
from html.parser import HTMLParser

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from mailparser_reply import EmailReplyParser

MAX_TEXT_CHARACTERS = 100_000


class UnreadableMessage(Exception):
    """The bytes are not a message we can take anything from."""


# --- Identity: what makes two deliveries the same message ------------------------------------

# Headers that stay the same however a message reached us (the trace headers each hop adds,
# Received, Delivered-To, Return-Path, X-Original-To..., are left out).
_IDENTITY_HEADERS = ("from", "to", "cc", "subject", "date", "message-id", "in-reply-to")


def _split(raw: bytes) -> tuple[bytes, bytes]:
    normalized = raw.replace(b"\r\n", b"\n")
    head, _, body = normalized.partition(b"\n\n")
    return head, body


def message_identity(raw: bytes) -> tuple[str, str]:
    """``(message_id, content_hash)``: the Message-ID (may be empty) and a SHA-256 of the
    message's own headers and body, the same whichever route (Maildir, IMAP, a webhook, a pipe)
    delivered it. Never raises."""
    head, body = _split(raw)
    try:
        headers = BytesHeaderParser(policy=email.policy.compat32).parsebytes(head + b"\n\n")
    except Exception:  # a header block the parser cannot read: hash the bytes themselves
        headers = Message()
    digest = hashlib.sha256()
    for name in _IDENTITY_HEADERS:
        for value in headers.get_all(name) or []:
            digest.update(f"{name}:{' '.join(str(value).split())}\n".encode("utf-8", "replace"))
    digest.update(b"\n")
    digest.update(body if headers.keys() else head + b"\n\n" + body)
    message_id = " ".join(str(headers.get("message-id", "")).split())[:250]
    return message_id, digest.hexdigest()


# --- Text: charsets and HTML -----------------------------------------------------------------

# Mail that says ISO-8859-1 (or ASCII) is very often Windows-1252 (curly quotes, the euro sign),
# which is a superset of it for text: read it so, as browsers do.
_CHARSET_ALIASES = {
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "windows-1252": "cp1252",
    "": "utf-8",
}


def decode_text(payload: bytes, charset: str | None) -> str:
    """``payload`` in its declared charset; an unknown or wrong charset falls back to UTF-8,
    then Windows-1252 (every byte means something in it), never an error."""
    declared = (charset or "").strip().strip('"').lower()
    for candidate in (_CHARSET_ALIASES.get(declared, declared), "utf-8"):
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("cp1252", errors="replace")


_BLOCKS = {
    "p", "div", "br", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "hr", "section", "article", "header", "footer", "dd", "dt",
}  # fmt: skip
_SKIPPED = {"script", "style", "head", "title", "template", "noscript", "svg", "object"}


class _TextExtractor(HTMLParser):
    """HTML to plain text: blocks become lines, quoted blocks lines starting with "> ", and
    nothing of a script, a style or the head survives (the text is text, never markup)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = [""]
        self.skipping = 0
        self.quoting = 0

    def _break(self) -> None:
        if self.lines[-1].strip():
            self.lines.append("")

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag in _BLOCKS:
            self._break()
        if tag == "blockquote":
            self.quoting += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self._break()
        if tag == "blockquote":
            self.quoting = max(0, self.quoting - 1)

    def handle_startendtag(self, tag: str, attrs) -> None:
        if tag in _BLOCKS:
            self._break()

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        words = " ".join(data.split())
        if not words:
            if self.lines[-1] and not self.lines[-1].endswith(" "):
                self.lines[-1] += " "
            return
        if not self.lines[-1]:
            self.lines[-1] = "> " * self.quoting
        elif data[:1].isspace() and not self.lines[-1].endswith(" "):
            self.lines[-1] += " "
        self.lines[-1] += words
        if data[-1:].isspace():
            self.lines[-1] += " "


def html_to_text(html: str) -> str:
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except Exception:  # HTMLParser is lenient; this is for the truly broken
        return unescape(re.sub(r"<[^>]*>", " ", html))
    return "\n".join(line.rstrip() for line in extractor.lines).strip()


# --- The reply, without the quoted history and the signature ----------------------------------

_READER = EmailReplyParser(languages=["es", "en"])
# Header lines before quoted history that mail-parser-reply misses: Gmail's Spanish
# "El lun, 7 dic 2026 a las 10:00, Nombre (<a@b>) escribió:" (it wants two spaces before
# "escribió") and either language's header broken over two lines.
_QUOTE_HEADERS = re.compile(
    r"^(?:> ?)*(?:El|On)\s[^\n]{0,200}?(?:\n[^\n]{0,200}?)?\s(?:escribió|wrote)\s?:\s*$",
    re.MULTILINE | re.IGNORECASE,
)
_SENT_FROM = re.compile(
    r"^\s*(?:Sent from my|Sent from|Get Outlook for|Enviado desde mi|Obtener Outlook para)\b.*$",
    re.MULTILINE | re.IGNORECASE,
)


def reply_text(text: str) -> str:
    """The new words of a message: quoted history, the mail client's "On … wrote:" line and
    the signature removed (mail-parser-reply, Spanish and English)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    for header in _QUOTE_HEADERS.finditer(text):
        # Only a header that quoted text follows: "El lunes mi marido os escribió:" in the
        # customer's own words is not one.
        after = text[header.end() :].lstrip()
        if text[: header.start()].strip() and (not after or after.startswith(">")):
            text = text[: header.start()]
            break
    try:
        replies = _READER.read(text).replies
        latest = replies[0].body if replies else text
    except Exception:  # the library's regular expressions on unusual text
        latest = text
    if not latest.strip() and text.strip() and not text.lstrip().startswith(">"):
        latest = text  # it took everything for a signature: keep what was written
    lines = latest.rstrip().split("\n")
    while lines and (lines[-1].lstrip().startswith(">") or not lines[-1].strip()):
        lines.pop()  # quoted lines left at the end
    latest = "\n".join(lines)
    latest = _SENT_FROM.sub("", latest)
    return re.sub(r"\n{3,}", "\n\n", latest).strip()


# --- Machines: auto-replies, lists, bounces --------------------------------------------------

_BULK_PRECEDENCE = {"bulk", "list", "junk", "auto_reply", "auto-reply"}
_AUTO_HEADERS = (
    "x-autoreply",
    "x-autorespond",
    "x-autoresponder",
    "x-auto-response-suppress",
    "x-autogenerated",
    "x-autoreply-from",
    "x-mail-autoreply",
    "x-fc-machinegenerated",
    "x-loop",
    "feedback-id",
)
_LIST_HEADERS = ("list-id", "list-unsubscribe", "list-post")
_ROBOT_SENDERS = re.compile(
    r"^(?:mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?|auto-?reply)(?:[+.-].*)?@",
    re.IGNORECASE,
)


def machine_sent(message: Message, sender: str) -> str:
    """Why a machine sent this message (RFC 3834 ``Auto-Submitted``, ``Precedence``, the
    auto-reply headers of Exchange and friends, mailing-list headers, a null or robot sender),
    or "" when a person wrote it. Such mail never opens a case nor gets a reply."""
    auto_submitted = str(message.get("auto-submitted", "")).strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return f"Auto-Submitted: {auto_submitted[:40]}"
    precedence = str(message.get("precedence", "")).strip().lower()
    if precedence in _BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in _AUTO_HEADERS:
        if message.get(name) is not None:
            return f"{message_header_name(name)}: {str(message.get(name)).strip()[:40]}"
    for name in _LIST_HEADERS:
        if message.get(name) is not None:
            return f"{message_header_name(name)} (mailing list)"
    if str(message.get("return-path", "")).strip() == "<>":
        return "Return-Path: <> (null sender)"
    if _ROBOT_SENDERS.match(sender):
        return f"From: {sender} (robot sender)"
    return ""


def message_header_name(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))


@dataclass(frozen=True)
class FailedRecipient:
    address: str
    status: str  # the enhanced status code, "5.1.1"
    action: str  # "failed", "delayed"...


@dataclass(frozen=True)
class DeliveryReport:
    """A delivery status notification (RFC 3464): who could not be reached, and which of our
    messages it was about (its Message-ID, from the returned headers)."""

    recipients: list[FailedRecipient]
    original_message_ids: list[str]

    def permanently_gone(self) -> list[str]:
        """Addresses refused for good as addresses (5.1.x, like the outbox's rule): a full
        mailbox, a policy refusal or a delay says nothing about the address."""
        return [
            recipient.address
            for recipient in self.recipients
            if recipient.action == "failed" and recipient.status.startswith("5.1.")
        ]


def _field_address(value: str) -> str:
    kind, _, address = value.partition(";")
    return (address if address else kind).strip().strip("<>").lower()


def delivery_report(message: Message) -> DeliveryReport | None:
    """The report a bounce carries, or None when ``message`` is not a standard DSN."""
    if message.get_content_type() != "multipart/report":
        return None
    recipients: list[FailedRecipient] = []
    originals: list[str] = []
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type in ("message/delivery-status", "message/global-delivery-status"):
            blocks = part.get_payload()
            if isinstance(blocks, str):  # one block of text: parse it as header groups
                blocks = [HeaderParser().parsestr(group) for group in re.split(r"\n\s*\n", blocks)]
            for block in blocks or []:
                final = block.get("final-recipient") or block.get("original-recipient")
                if final:
                    recipients.append(
                        FailedRecipient(
                            address=_field_address(str(final)),
                            status=str(block.get("status", "")).strip().split(" ")[0],
                            action=str(block.get("action", "")).strip().lower(),
                        )
                    )
        elif content_type in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if inner is not None and inner.get("message-id"):
                originals.append(str(inner.get("message-id")).strip())
        elif content_type in ("text/rfc822-headers", "message/global-headers"):
            payload = part.get_payload(decode=True) or b""
            headers = HeaderParser().parsestr(decode_text(payload, part.get_content_charset()))
            if headers.get("message-id"):
                originals.append(str(headers.get("message-id")).strip())
    return DeliveryReport(recipients=recipients, original_message_ids=originals)


# --- The whole message -----------------------------------------------------------------------


@dataclass(frozen=True)
class AttachmentInfo:
    name: str
    content_type: str  # as the sender declared it (the attachment service reads the content)
    size: int
    data: bytes = field(default=b"", repr=False, compare=False)


@dataclass(frozen=True)
class ParsedMail:
    sender: str  # the From address, lower-cased ("" when there is none we can write back to)
    sender_name: str
    recipients: list[str]  # To, Cc, Delivered-To, X-Original-To, Envelope-To: lower-cased
    subject: str
    message_id: str
    thread_ids: list[str]  # In-Reply-To and References
    text: str  # the whole text (from the text part, or the HTML one made text)
    reply: str  # the new words: ``text`` without the quoted history and signature
    content_language: str
    machine: str  # why a machine sent it, "" for a person
    report: DeliveryReport | None
    attachments: list[AttachmentInfo] = field(default_factory=list)

    def thread_values(self) -> list[str]:
        """Where a reply names the case it answers: its addresses and Message-IDs."""
        return [*self.recipients, *self.thread_ids]


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # a header the parser cannot make sense of
        value = message.get_all(name, [""])[0] if hasattr(message, "get_all") else ""
    return " ".join(str(value or "").split())


def _addresses(message: EmailMessage, *names: str) -> list[str]:
    found: list[str] = []
    for name in names:
        for value in message.get_all(name) or []:
            for _display, address in getaddresses([str(value)]):
                address = address.strip().lower()
                if address and address not in found:
                    found.append(address)
    return found


def _valid_address(address: str) -> bool:
    if len(address) > 254:  # the longest an address can be (and our columns hold)
        return False
    try:
        validate_email(address)
    except ValidationError:
        return False
    return True


def _is_attachment(part: Message) -> bool:
    if part.is_multipart():
        return False
    disposition = (part.get_content_disposition() or "").lower()
    if disposition == "attachment" or part.get_filename():
        return True
    return part.get_content_maintype() not in ("text", "multipart", "message")


def _texts(message: Message) -> tuple[str, str]:
    plain = html = ""
    for part in message.walk():
        if part.is_multipart() or _is_attachment(part):
            continue
        if part.get_content_type() == "text/plain" and not plain:
            plain = decode_text(part.get_payload(decode=True) or b"", part.get_content_charset())
        elif part.get_content_type() == "text/html" and not html:
            html = decode_text(part.get_payload(decode=True) or b"", part.get_content_charset())
    return plain, html


def _attachments(message: Message) -> list[AttachmentInfo]:
    found = []
    for part in message.walk():
        if not _is_attachment(part):
            continue
        try:
            name = part.get_filename() or ""
        except Exception:
            name = ""
        payload = part.get_payload(decode=True) or b""
        found.append(
            AttachmentInfo(
                name=" ".join(str(name).split())[:200],
                content_type=part.get_content_type(),
                size=len(payload),
                data=payload,
            )
        )
    return found


_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _without_controls(text: str) -> str:
    """Text as people write it: no NUL (PostgreSQL refuses it) nor other control characters
    but line breaks and tabs."""
    return _CONTROLS.sub("", text)


def _message_ids(value: str) -> list[str]:
    return re.findall(r"<[^<>\s]+>", value or "")


def parse_message(raw: bytes) -> ParsedMail:
    """Read a raw message. Raises ``UnreadableMessage`` when it has no headers at all, or no
    From address a reply could go to."""
    if not raw or not raw.strip():
        raise UnreadableMessage("empty message")
    message = email.message_from_bytes(raw, policy=email.policy.default)
    if not message.keys():
        raise UnreadableMessage("no headers")
    from_value = _header(message, "from")
    sender_name, sender = parseaddr(from_value)
    sender = sender.strip().lower()
    if not _valid_address(sender):
        sender = ""
    plain, html = _texts(message)
    text = _without_controls(plain if plain.strip() else html_to_text(html))
    text = text[:MAX_TEXT_CHARACTERS]
    report = delivery_report(message)
    machine = machine_sent(message, sender)
    if not sender and report is None and not machine:
        raise UnreadableMessage(f"no address to reply to in From: {from_value[:120]!r}")
    language = _header(message, "content-language").lower()[:2]
    return ParsedMail(
        sender=sender,
        sender_name=_without_controls(" ".join(sender_name.split()))[:120],
        recipients=_addresses(
            message, "to", "cc", "delivered-to", "x-original-to", "envelope-to", "resent-to"
        ),
        subject=_without_controls(_header(message, "subject"))[:300],
        message_id=_header(message, "message-id")[:250],
        thread_ids=_message_ids(_header(message, "in-reply-to"))
        + _message_ids(_header(message, "references")),
        text=text,
        reply=reply_text(text) if report is None else "",
        content_language=language,
        machine=machine,
        report=report,
        attachments=_attachments(message),
    )


# The commonest words of each language.
_SPANISH_WORDS = (
    "el la los las de del que y en un una por para con no mi me es está hola gracias pedido "
    "tengo quiero pero como cuando ya se lo al su muy buenas días favor he ha"
)
_ENGLISH_WORDS = (
    "the a an of and to in is it my i you for on with not have has was hello hi thanks thank "
    "order please but when can would could this that we are"
)
_SPANISH = frozenset(_SPANISH_WORDS.split())
_ENGLISH = frozenset(_ENGLISH_WORDS.split())


def guess_language(text: str, *, declared: str = "", default: str = "es") -> str:
    """``es`` or ``en``: the Content-Language a mail client declared, else whichever language's
    common words the text uses more; ``default`` when it cannot tell."""
    if declared in ("es", "en"):
        return declared
    words = re.findall(r"[^\W\d_]+", text.lower())[:400]
    spanish = sum(word in _SPANISH for word in words)
    english = sum(word in _ENGLISH for word in words)
    if spanish == english:
        return default
    return "es" if spanish > english else "en"
