"""Whether a message's From is authenticated: the receiving server's verdict (its
``Authentication-Results`` headers, RFC 8601, believed only from the authserv-ids we trust,
since anyone can write that header), else, when enabled, the From domain's DKIM signature
checked here. Pure functions over bytes (and DNS, for our own DKIM check): nothing here
touches the database, and nothing here raises for any input.

The verdict is ``pass``, ``fail`` or ``none`` (nobody we trust said anything), with a code
saying why and what it found; the policy (``INBOUND_SENDER_AUTH``) decides what a ``fail``
or a ``none`` does to a message that no reply token authenticates.
"""

from __future__ import annotations

import email.policy
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.utils import getaddresses

import authres
import dkim
import dns.exception
import dns.resolver

logger = logging.getLogger(__name__)

PASS, FAIL, NONE = "pass", "fail", "none"
POLICIES = ("off", "hold_failed", "require")
DnsFunction = Callable[..., bytes | None]
_METHODS = ("dmarc", "dkim", "spf")
MAX_HEADERS = 50


@dataclass(frozen=True)
class SenderVerdict:
    result: str  # PASS, FAIL or NONE
    code: str  # why (inbound.selectors.sender_auth_message says it in the reader's language)
    params: dict[str, str] = field(default_factory=dict)

    def as_row(self) -> dict:
        return {"code": self.code, "params": self.params}

    def summary(self) -> str:
        """For the row's ``detail``: the code and what it found, not words."""
        found = ", ".join(f"{key}={value}" for key, value in sorted(self.params.items()))
        return f"sender {self.result}: {self.code}" + (f" ({found})" if found else "")


def held_by_policy(verdict: SenderVerdict, policy: str) -> bool:
    """Whether ``policy`` holds a message with this verdict for staff (the caller has
    already let through a reply that carries our token)."""
    if policy == "off":
        return False
    if verdict.result == FAIL:
        return True
    return verdict.result == NONE and policy == "require"


def aligned(domain: str, from_domain: str) -> bool:
    """Whether an authenticated domain (DKIM's ``d=``, SPF's envelope sender) vouches for the
    From domain: the same domain, or a parent of it (whoever holds example.com's DNS holds
    its subdomains'). Stricter than DMARC's relaxed alignment, which also accepts a sibling
    or a child: without the public suffix list we cannot tell ``alice.github.io`` from
    ``mail.example.com``, so only the direction nobody can abuse is taken. A server that
    runs DMARC says the rest in its ``dmarc=`` result, which is read first."""
    domain = domain.strip().strip(".").lower()
    from_domain = from_domain.strip().strip(".").lower()
    if not domain or not from_domain:
        return False
    if domain == from_domain:
        return True
    return domain.count(".") >= 1 and from_domain.endswith("." + domain)


def _domain_of(value: str) -> str:
    """``example.com`` from ``example.com``, ``@example.com`` or ``ana@example.com``."""
    return (value or "").strip().strip("<>").rpartition("@")[2].strip().lower()


def _property(result, ptype: str, name: str) -> str:
    for prop in getattr(result, "properties", None) or []:
        if (prop.type or "").lower() == ptype and (prop.name or "").lower() == name:
            return str(prop.value or "")
    return ""


@dataclass(frozen=True)
class _Result:
    authserv_id: str
    method: str
    result: str
    domain: str  # the identity the result is about (header.from, header.d, smtp.mailfrom)


def _claimed_id(value: str) -> str:
    """The authserv-id a header value starts with (before any version, comment or ";")."""
    words = str(value).split(";", 1)[0].split("(", 1)[0].split()
    return words[0].lower() if words else ""


def trusted_results(values: Iterable[str], trusted_ids: Iterable[str]) -> list[_Result]:
    """The dmarc, dkim and spf results of the ``Authentication-Results`` header values whose
    authserv-id we trust; a header from anyone else is skipped. A header that names a trusted
    authserv-id but cannot be parsed is a result of its own, "unreadable" (a fail: it can only
    be our server's mistake, to be looked at, or a sender's forgery, which may only hurt it)."""
    trusted = {value.strip().lower() for value in trusted_ids if value.strip()}
    found: list[_Result] = []
    if not trusted:
        return found
    claiming = [value for value in values if _claimed_id(value) in trusted]
    if len(claiming) > MAX_HEADERS:
        # Our servers add one or two each; hundreds in their name are a sender's doing. None
        # may be dropped to save time (the one dropped could be our server's fail), so the
        # message fails as a whole, which can only hurt whoever wrote them.
        return [_Result(_claimed_id(claiming[0]), "unreadable", FAIL, "")]
    for value in claiming:
        try:
            header = authres.parse_value(" ".join(str(value).split()))
        except Exception:  # authres' SyntaxError and whatever a hostile header provokes
            logger.warning("Unparsable Authentication-Results: %.200r", value)
            found.append(_Result(_claimed_id(value), "unreadable", FAIL, ""))
            continue
        authserv_id = str(header.authserv_id or "").lower()
        if authserv_id not in trusted:
            continue
        for result in header.results or []:
            method = str(getattr(result, "method", "") or "").lower()
            if method not in _METHODS:
                continue
            if method == "dmarc":
                domain = _property(result, "header", "from")
            elif method == "dkim":
                domain = _property(result, "header", "d") or _domain_of(
                    _property(result, "header", "i")
                )
            else:
                domain = _domain_of(_property(result, "smtp", "mailfrom"))
            found.append(
                _Result(
                    authserv_id=authserv_id,
                    method=method,
                    result=str(getattr(result, "result", "") or "").lower(),
                    domain=domain.strip().lower(),
                )
            )
    return found


def verdict_from_results(results: list[_Result], from_domain: str) -> SenderVerdict | None:
    """The verdict the trusted servers gave on ``from_domain``, None when they said nothing
    about DMARC, DKIM or SPF.

    DMARC first (any ``fail`` is a fail, even beside a ``pass``: a header a sender slipped past
    a server that does not strip them can only add passes); without a DMARC pass or fail, a
    DKIM pass aligned with the From domain, or an SPF pass for an aligned envelope sender.
    """
    if not results:
        return None
    for r in results:
        if r.method == "unreadable":
            return SenderVerdict(FAIL, "unreadable_results", {"by": r.authserv_id})
    dmarc = [r for r in results if r.method == "dmarc" and r.domain in ("", from_domain)]
    failed = [r for r in dmarc if r.result == "fail"]
    if failed:
        return SenderVerdict(
            FAIL, "dmarc_fail", {"domain": from_domain, "by": failed[0].authserv_id}
        )
    for r in dmarc:
        if r.result == "pass":
            return SenderVerdict(PASS, "dmarc_pass", {"domain": from_domain, "by": r.authserv_id})
    for r in results:
        if r.method == "dkim" and r.result == "pass" and aligned(r.domain, from_domain):
            return SenderVerdict(PASS, "dkim_pass", {"domain": r.domain, "by": r.authserv_id})
    for r in results:
        if r.method == "spf" and r.result == "pass" and aligned(r.domain, from_domain):
            return SenderVerdict(PASS, "spf_pass", {"domain": r.domain, "by": r.authserv_id})
    said = ", ".join(
        dict.fromkeys(
            f"{r.method}={r.result}" + (f" {r.domain}" if r.domain else "") for r in results
        )
    )
    return SenderVerdict(
        FAIL,
        "not_aligned",
        {"domain": from_domain, "by": results[0].authserv_id, "found": said[:300]},
    )


# --- Our own DKIM check ---------------------------------------------------------------------


class _TemporaryDnsError(Exception):
    pass


def dns_txt(name: bytes | str, timeout: float = 5) -> bytes | None:
    """The TXT record at ``name`` (dnspython), None when there is none; a server failure or a
    timeout raises ``_TemporaryDnsError``: the check cannot tell, which is not a fail."""
    if isinstance(name, bytes):
        name = name.decode("ascii", "replace")
    try:
        answer = dns.resolver.resolve(name, "TXT", lifetime=timeout, raise_on_no_answer=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return None
    except dns.exception.DNSException as error:
        raise _TemporaryDnsError(str(error)) from error
    for record in answer.rrset or []:
        return b"".join(record.strings)
    return None


def verify_dkim(
    raw: bytes, from_domain: str, *, dnsfunc: DnsFunction | None = None, timeout: float = 5
) -> SenderVerdict | None:
    """Check each DKIM signature of ``raw`` (dkimpy, keys from DNS through ``dnsfunc``): PASS
    for a valid one by an aligned domain covering the whole body (a signature with ``l=``
    lets anyone append text after the signed part, so it counts for nothing); FAIL when
    the From domain signed and no such signature holds (a changed body or header, a
    revoked key); NONE when DNS could not answer; None when the From domain did not sign."""
    lookup = dnsfunc or dns_txt
    temporary: list[str] = []

    def recorded(name, timeout=timeout):
        try:
            return lookup(name, timeout=timeout)
        except Exception as error:  # any failure to look up is "cannot tell", never a pass
            temporary.append(str(error)[:120])
            return None

    try:
        headers = BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw, headersonly=True)
        count = len(headers.get_all("dkim-signature") or [])
    except Exception:
        return None
    signed_by_from = ""
    for index in range(min(count, 5)):
        checker = dkim.DKIM(raw, minkey=1024, timeout=timeout)
        try:
            valid = checker.verify(idx=index, dnsfunc=recorded)
        except Exception:  # dkimpy's DKIMException for a malformed signature, and the rest
            valid = False
        domain = (checker.domain or b"").decode("ascii", "replace") if checker.domain else ""
        if not aligned(domain, from_domain):
            continue
        fields = getattr(checker, "signature_fields", None) or {}
        if valid and b"l" not in fields:
            return SenderVerdict(PASS, "dkim_verified", {"domain": domain.lower()})
        signed_by_from = domain.lower()
    if temporary:
        return SenderVerdict(NONE, "dkim_temperror", {"domain": from_domain, "error": temporary[0]})
    if signed_by_from:
        return SenderVerdict(FAIL, "dkim_invalid", {"domain": signed_by_from})
    return None


# --- The whole verdict -----------------------------------------------------------------------


def sender_verdict(
    raw: bytes,
    *,
    sender: str,
    trusted_ids: Iterable[str],
    verify_dkim_signatures: bool = False,
    dnsfunc: DnsFunction | None = None,
) -> SenderVerdict:
    """Whether ``sender`` (the From address as parsed) is authenticated. Never raises."""
    try:
        return _sender_verdict(
            raw,
            sender=sender,
            trusted_ids=list(trusted_ids),
            verify_dkim_signatures=verify_dkim_signatures,
            dnsfunc=dnsfunc,
        )
    except Exception as error:  # a verdict we could not reach is no verdict, never a crash
        logger.exception("Sender authentication failed")
        return SenderVerdict(NONE, "check_failed", {"error": repr(error)[:120]})


def _sender_verdict(
    raw: bytes,
    *,
    sender: str,
    trusted_ids: list[str],
    verify_dkim_signatures: bool,
    dnsfunc: DnsFunction | None,
) -> SenderVerdict:
    from_domain = _domain_of(sender)
    if not from_domain:
        return SenderVerdict(NONE, "no_sender")
    headers = BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw, headersonly=True)
    from_values = [str(value) for value in headers.get_all("from") or []]
    if len([address for _name, address in getaddresses(from_values) if address]) > 1:
        # Which of them would a reader believe? DMARC refuses to say; so do we.
        return SenderVerdict(FAIL, "several_from", {"domain": from_domain})
    values = [str(value) for value in headers.get_all("authentication-results") or []]
    verdict = verdict_from_results(trusted_results(values, trusted_ids), from_domain)
    if verdict is not None:
        return verdict
    if verify_dkim_signatures:
        verdict = verify_dkim(raw, from_domain, dnsfunc=dnsfunc)
        if verdict is not None:
            return verdict
    if not trusted_ids:
        return SenderVerdict(NONE, "no_trusted_servers")
    return SenderVerdict(NONE, "no_verdict", {"domain": from_domain})
