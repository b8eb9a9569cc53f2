"""The address a customer replies to, and the Message-IDs of case mail: both name the case
with a token nobody can make without the site's secret.

A token is the case's reference (already in every email to the customer, and random) and an
HMAC of it under ``SECRET_KEY`` (80 bits): ``k7m2q9xa-5tqv3mzx6d2hjc4a``. Replies go to the
support address with the token after a plus (``ayuda+k7m2q9xa-5tqv…@example.com``); mail
clients that drop the Reply-To still quote our ``Message-ID`` in ``In-Reply-To`` and
``References``, which carries the same token. Nothing is stored: the token is checked by
computing it again (against ``SECRET_KEY_FALLBACKS`` too, so a rotated key keeps old replies
working), and it outlives the outbox's purge of old headers.
"""

import base64
import hashlib
import hmac
import re
from email.utils import parseaddr

from django.conf import settings
from django.utils.crypto import salted_hmac

_SALT = "cases.reply-address"
_MAC_LENGTH = 16  # base32 characters: 80 bits
# A reference without its dash, lower-cased (mail systems may lower-case a local part).
_TOKEN = re.compile(rf"([a-z0-9]{{8}})-([a-z2-7]{{{_MAC_LENGTH}}})")


def _mac(compact_reference: str, secret: str) -> str:
    digest = salted_hmac(_SALT, compact_reference, secret=secret, algorithm="sha256").digest()
    return base64.b32encode(digest).decode("ascii").lower()[:_MAC_LENGTH]


def reply_token(reference: str) -> str:
    compact = reference.replace("-", "").lower()
    return f"{compact}-{_mac(compact, settings.SECRET_KEY)}"


def support_address() -> str:
    """Where new mail arrives (``INBOUND_ADDRESS``, by default the sender's address)."""
    address = settings.INBOUND_ADDRESS or parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return address.strip().lower()


def reply_address(reference: str) -> str:
    """``local+token@domain`` of the support address."""
    local, _, domain = support_address().partition("@")
    return f"{local}+{reply_token(reference)}@{domain}"


def message_id(reference: str, key: str) -> str:
    """A stable, unique Message-ID for the case email with dedupe key ``key``."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    domain = support_address().partition("@")[2] or "localhost"
    return f"<{reply_token(reference)}.{digest}@{domain}>"


def _valid(compact: str, mac: str) -> bool:
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return any(hmac.compare_digest(mac, _mac(compact, secret)) for secret in secrets)


def references_in(*values: str) -> list[str]:
    """The case references ("K7M2-Q9XA") whose valid tokens appear in ``values`` (addresses,
    Message-IDs, header values), in the order found, without repeats. A token with a wrong
    MAC is ignored: it names no case."""
    found: list[str] = []
    for value in values:
        for match in _TOKEN.finditer((value or "").lower()):
            compact, mac = match.groups()
            if _valid(compact, mac):
                reference = f"{compact[:4]}-{compact[4:]}".upper()
                if reference not in found:
                    found.append(reference)
    return found
