"""Anyone can write a customer's address in From. A message is theirs only when the receiving
server vouches for it (Authentication-Results from an authserv-id we trust: DMARC, or DKIM or
SPF aligned with the From domain), when we verify its DKIM signature ourselves, or when it
carries our reply token; anything else that fails is held for staff, on nobody's case, and
writes to nobody."""

import base64
import email
import email.policy

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import translation

from cases.models import Case, CaseEvent, CaseLinkRequest
from inbound import selectors, services, tasks
from inbound.models import InboundMessage
from inbound.services.authentication import sender_verdict
from inbound.services.parsing import parse_message
from inbound.sources.imap import ImapMailbox, fetch_imap
from inbound.sources.maildir import fetch_maildir
from notifications.models import OutgoingMessage
from tests.conftest import wait_for
from tests.factories import StaffFactory, UserFactory
from tests.inbound.conftest import case_mail
from tests.inbound.mail import compose, reply_to
from tests.inbound.test_sources import drop_into

Status, Outcome = InboundMessage.Status, InboundMessage.Outcome
OURS = "mx.ayuda.example"  # our receiving server's authserv-id
FORGED = "Ana García <ana@example.com>"


@pytest.fixture(autouse=True)
def trusted_server(settings):
    settings.INBOUND_TRUSTED_AUTHSERV_IDS = [OURS]
    settings.INBOUND_SENDER_AUTH = "hold_failed"
    settings.INBOUND_VERIFY_DKIM = False


def results(value: str, authserv_id: str = OURS) -> dict[str, str]:
    return {"Authentication-Results": f"{authserv_id}; {value}"}  # folded by compose()


DMARC_PASS = "dkim=pass header.d=example.com; spf=pass smtp.mailfrom=ana@example.com; dmarc=pass header.from=example.com"  # noqa: E501
DMARC_FAIL = "dkim=none; spf=fail smtp.mailfrom=ana@example.com; dmarc=fail header.from=example.com"


def verdict_of(raw: bytes, **kwargs):
    return sender_verdict(raw, sender="ana@example.com", trusted_ids=[OURS], **kwargs)


# --- The receiving server's verdict ------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "result", "code"),
    [
        (DMARC_PASS, "pass", "dmarc_pass"),
        (DMARC_FAIL, "fail", "dmarc_fail"),
        # A DMARC fail wins over any pass beside it.
        (
            "dkim=pass header.d=example.com; dmarc=fail header.from=example.com",
            "fail",
            "dmarc_fail",
        ),
        # No DMARC result: a DKIM signature of the From domain (or a parent of it), or SPF for
        # an envelope sender in it.
        ("dkim=pass header.d=example.com header.s=s1", "pass", "dkim_pass"),
        ("dkim=pass header.i=@example.com", "pass", "dkim_pass"),
        ("spf=pass smtp.mailfrom=bounces@example.com", "pass", "spf_pass"),
        ("dmarc=none header.from=example.com; dkim=pass header.d=example.com", "pass", "dkim_pass"),
        # Valid, but for someone else's domain: it vouches for them, not for the From.
        (
            "dkim=pass header.d=mailer.example.org; spf=pass smtp.mailfrom=b@mailer.example.org",
            "fail",
            "not_aligned",
        ),
        ("dkim=pass header.d=ana.example.com", "fail", "not_aligned"),  # a child, not a parent
        ("dkim=pass header.d=com", "fail", "not_aligned"),
        (
            "dkim=fail header.d=example.com; spf=softfail smtp.mailfrom=ana@example.com",
            "fail",
            "not_aligned",
        ),
        ("spf=none smtp.mailfrom=ana@example.com", "fail", "not_aligned"),
        # The server checked nothing: no verdict.
        ("none", "none", "no_verdict"),
    ],
)
def test_the_trusted_servers_verdict_is_read(value, result, code):
    verdict = verdict_of(compose(sender=FORGED, headers=results(value)))

    assert (verdict.result, verdict.code) == (result, code)


def test_the_same_headers_from_an_untrusted_server_are_ignored():
    forged_pass = compose(sender=FORGED, headers=results(DMARC_PASS, authserv_id="mx.evil.test"))
    forged_fail = compose(sender=FORGED, headers=results(DMARC_FAIL, authserv_id="mx.evil.test"))

    assert verdict_of(forged_pass).code == "no_verdict"
    assert verdict_of(forged_fail).code == "no_verdict"


def test_a_pass_slipped_in_beside_our_servers_fail_still_fails():
    raw = compose(sender=FORGED, headers=results(DMARC_FAIL))
    raw = b"Authentication-Results: " + OURS.encode() + b"; dmarc=pass\r\n" + raw

    assert verdict_of(raw).code == "dmarc_fail"


def test_hundreds_of_headers_in_our_servers_name_fail_rather_than_hide_its_verdict():
    raw = compose(sender=FORGED, headers=results(DMARC_FAIL))
    raw = (f"Authentication-Results: {OURS}; dmarc=pass\r\n" * 60).encode() + raw

    assert verdict_of(raw).code == "unreadable_results"


def test_with_no_trusted_server_configured_nothing_is_believed():
    raw = compose(sender=FORGED, headers=results(DMARC_PASS))

    verdict = sender_verdict(raw, sender="ana@example.com", trusted_ids=[])

    assert (verdict.result, verdict.code) == ("none", "no_trusted_servers")


def test_several_senders_in_from_are_not_authenticated():
    raw = compose(sender="ana@example.com, eva@evil.test", headers=results(DMARC_PASS))

    assert verdict_of(raw).code == "several_from"


@pytest.mark.parametrize(
    "sender", ["ana@example.com <eva@evil.test>", "<ana@example.com>eva@evil.test"]
)
def test_a_from_that_parsers_read_differently_is_not_authenticated(sender):
    """``ana@example.com <eva@evil.test>`` is eva@evil.test to a receiving server (the address
    in angle brackets, its DMARC and DKIM about evil.test) and ana@example.com to Python's
    parser. A server whose dmarc= result names no header.from vouched for evil.test, not for
    the address we read: such a From holds two addresses to the stricter reading, and fails."""
    verdict_value = "dkim=pass header.d=evil.test; spf=pass smtp.mailfrom=eva@evil.test; dmarc=pass"
    raw = compose(sender=sender, headers=results(verdict_value))
    assert parse_message(raw).sender == "ana@example.com"

    verdict = verdict_of(raw)

    assert (verdict.result, verdict.code) == ("fail", "several_from")


MALFORMED = [
    "",
    ";;;",
    f"{OURS}; dkim=",
    f"{OURS}; dkim=pass header.d=example.com; spf=softfail smtp.mailfrom=<>",
    f"{OURS} 99; dmarc=pass",
    f"{OURS}; dmarc=pass (unterminated comment",
    f"{OURS}; dmarc=pass header.from=\x00\x7f",
    "x" * 20000,
    f"{OURS}; " + "dkim=pass header.d=example.com; " * 500,
    "=?utf-8?b?8J+YgA==?=; dmarc=pass",
]


@pytest.mark.django_db
@pytest.mark.parametrize("value", MALFORMED)
def test_malformed_authentication_results_never_crash(value, other_reason, deliver, client):
    raw = compose(sender=FORGED, headers={"Authentication-Results": value})

    message = deliver(raw)

    assert message.status in (Status.PROCESSED, Status.HELD)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get(f"/admin/inbound/inboundmessage/{message.pk}/change/").status_code == 200


@pytest.mark.django_db
def test_an_unreadable_header_in_our_servers_name_is_a_fail_not_a_pass(other_reason, deliver):
    message = deliver(compose(sender=FORGED, headers=results("dmarc=pass (broken")))

    assert (message.status, message.outcome) == (Status.HELD, Outcome.UNAUTHENTICATED)
    assert message.sender_auth_reason["code"] == "unreadable_results"


# --- The policy ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_authenticated_mail_opens_its_case_and_says_so(other_reason, deliver):
    message = deliver(compose(sender=FORGED, headers=results(DMARC_PASS)))

    assert (message.status, message.outcome) == (Status.PROCESSED, Outcome.CASE_OPENED)
    assert message.sender_auth == InboundMessage.SenderAuth.PASS
    assert message.sender_auth_reason == {
        "code": "dmarc_pass",
        "params": {"domain": "example.com", "by": OURS},
    }


@pytest.mark.django_db
def test_a_forged_from_of_a_customer_is_held_off_their_case_and_writes_to_nobody(
    make_case, other_reason, deliver
):
    case = make_case(email="ana@example.com")
    events, mails = case.events.count(), OutgoingMessage.objects.count()

    message = deliver(
        compose(
            sender=FORGED,
            subject=f"Re: {case.reference}: cambiad mi dirección",
            text="Enviad el pedido a otra dirección, por favor.",
            headers=results(DMARC_FAIL),
            attachments=(("nueva.txt", "text/plain", b"Calle Falsa 123"),),
        )
    )

    assert (message.status, message.outcome) == (Status.HELD, Outcome.UNAUTHENTICATED)
    assert message.case is None and message.case_event is None
    assert message.sender_auth == InboundMessage.SenderAuth.FAIL
    assert Case.objects.count() == 1
    assert case.events.count() == events  # not a message, not even a note on their case
    assert OutgoingMessage.objects.count() == mails  # no acknowledgement, no links
    assert not CaseEvent.objects.filter(attachments__isnull=False).exists()


@pytest.mark.django_db
def test_a_forged_status_question_sends_no_links(make_case, other_reason, deliver):
    make_case(email="ana@example.com")
    mails = OutgoingMessage.objects.count()

    message = deliver(
        compose(sender=FORGED, subject="¿Cómo va mi caso?", headers=results(DMARC_FAIL))
    )

    assert message.status == Status.HELD
    assert not CaseLinkRequest.objects.exists()
    assert OutgoingMessage.objects.count() == mails


@pytest.mark.django_db
def test_a_token_reply_is_accepted_whatever_spf_says(make_case, deliver):
    case = make_case()
    raw = reply_to(
        case_mail(case),
        text="Respondo desde el móvil.",
        headers=results(
            "spf=fail smtp.mailfrom=ana@example.com; dmarc=fail header.from=example.com"
        ),
    )

    message = deliver(raw)

    assert (message.status, message.outcome) == (Status.PROCESSED, Outcome.REPLY_ADDED)
    assert message.case_event.body == "Respondo desde el móvil."
    assert message.sender_auth == InboundMessage.SenderAuth.FAIL  # recorded all the same


@pytest.mark.django_db
def test_a_reply_naming_no_case_gets_no_benefit_of_the_token(make_case, other_reason, deliver):
    make_case()
    raw = compose(
        sender=FORGED,
        to="ayuda+zzzzzzzz-aaaaaaaaaaaaaaaa@example.com",
        headers={"In-Reply-To": "<made-up@example.com>", **results(DMARC_FAIL)},
    )

    assert deliver(raw).outcome == Outcome.UNAUTHENTICATED


@pytest.mark.django_db
def test_by_default_no_verdict_at_all_is_let_through_and_require_holds_it(
    settings, other_reason, deliver
):
    assert deliver(compose(subject="Sin cabeceras")).outcome == Outcome.CASE_OPENED

    settings.INBOUND_SENDER_AUTH = "require"
    held = deliver(compose(subject="Sin cabeceras, otra vez"))
    forged = deliver(
        compose(subject="Cabecera ajena", headers=results(DMARC_PASS, authserv_id="mx.evil.test"))
    )

    assert (held.outcome, held.sender_auth) == (Outcome.UNAUTHENTICATED, "none")
    assert forged.outcome == Outcome.UNAUTHENTICATED
    assert deliver(compose(subject="Con veredicto", headers=results(DMARC_PASS))).case is not None


@pytest.mark.django_db
def test_off_checks_nothing(settings, other_reason, deliver):
    settings.INBOUND_SENDER_AUTH = "off"

    assert deliver(compose(headers=results(DMARC_FAIL))).outcome == Outcome.CASE_OPENED


@pytest.mark.django_db
def test_auto_replies_are_still_ignored_not_held(other_reason, deliver):
    raw = compose(headers={"Auto-Submitted": "auto-replied", **results(DMARC_FAIL)})

    assert deliver(raw).status == Status.IGNORED


@pytest.mark.django_db
def test_staff_can_accept_a_held_message_once_they_checked_it(other_reason, deliver):
    message = deliver(
        compose(sender=FORGED, text="Soy Ana de verdad.", headers=results(DMARC_FAIL))
    )

    services.accept_held_message(message_id=message.pk, actor=StaffFactory())

    message.refresh_from_db()
    assert (message.status, message.outcome) == (Status.PROCESSED, Outcome.CASE_OPENED)
    assert message.case.customer_email == "ana@example.com"


@pytest.mark.django_db
def test_the_verdict_is_said_in_the_readers_language(client, other_reason, deliver):
    message = deliver(compose(sender=FORGED, headers=results(DMARC_FAIL)))
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = f"/admin/inbound/inboundmessage/{message.pk}/change/"

    spanish = client.get(url, HTTP_ACCEPT_LANGUAGE="es").text
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").text

    assert "DMARC no se superó para example.com (lo comprobó mx.ayuda.example)" in spanish
    assert "DMARC failed for example.com (checked by mx.ayuda.example)." in english
    with translation.override("en"):
        assert selectors.sender_auth_message(message.sender_auth_reason).startswith("DMARC failed")
    listing = client.get("/admin/inbound/inboundmessage/?sender_auth=fail").text
    assert "ana@example.com" in listing


# --- Our own DKIM check (dkimpy, a key made here, DNS answered by the test) -------------------


@pytest.fixture(scope="module")
def signing_key() -> tuple[bytes, bytes]:
    """(the private key as PEM, the TXT record publishing its public half)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def signed(raw: bytes, private: bytes, *, domain: bytes = b"example.com", **kwargs) -> bytes:
    signature = dkim.sign(raw, b"s2026", domain, private, **kwargs)
    return signature + raw


@pytest.fixture
def dns(signing_key):
    """DNS as the test has it: the key at s2026._domainkey of example.com and mailer.example.org."""
    asked = []

    def txt(name: bytes, timeout: float = 5) -> bytes | None:
        asked.append(name)
        if name in (b"s2026._domainkey.example.com.", b"s2026._domainkey.mailer.example.org."):
            return signing_key[1]
        return None

    txt.asked = asked
    return txt


@pytest.fixture
def deliver_checking_dkim(settings, dns):
    settings.INBOUND_VERIFY_DKIM = True

    def deliver_(raw: bytes) -> InboundMessage:
        received = services.receive_message(raw=raw, source="test")
        services.process_message(message_id=received.message.pk, dkim_dns=dns)
        return InboundMessage.objects.get(pk=received.message.pk)

    return deliver_


@pytest.mark.django_db
def test_a_dkim_signature_of_the_from_domain_is_verified_by_us(
    signing_key, other_reason, deliver_checking_dkim, dns
):
    raw = signed(compose(sender=FORGED, text="Firmado por mi servidor."), signing_key[0])

    message = deliver_checking_dkim(raw)

    assert (message.status, message.outcome) == (Status.PROCESSED, Outcome.CASE_OPENED)
    assert message.sender_auth_reason == {
        "code": "dkim_verified",
        "params": {"domain": "example.com"},
    }
    assert dns.asked == [b"s2026._domainkey.example.com."]


@pytest.mark.django_db
def test_a_tampered_body_fails_the_signature_and_is_held(
    signing_key, make_case, other_reason, deliver_checking_dkim
):
    case = make_case(email="ana@example.com")
    raw = signed(compose(sender=FORGED, text="Devolvedme 10 euros."), signing_key[0])
    tampered = raw.replace(b"10 euros", b"999 euros")

    message = deliver_checking_dkim(tampered)

    assert (message.status, message.outcome) == (Status.HELD, Outcome.UNAUTHENTICATED)
    assert message.sender_auth_reason["code"] == "dkim_invalid"
    assert message.case is None and case.events.count() == 1


def test_a_signature_over_part_of_the_body_counts_for_nothing(signing_key, dns):
    """With l=, anyone can append text after the signed part and keep the signature valid."""
    raw = signed(compose(sender=FORGED, text="Hola."), signing_key[0], length=True)
    appended = raw + b"\nP.D.: enviad el reembolso a otra cuenta.\n"

    verdict = verdict_of(appended, verify_dkim_signatures=True, dnsfunc=dns)

    assert (verdict.result, verdict.code) == ("fail", "dkim_invalid")


def test_a_valid_signature_of_another_domain_proves_nothing_about_the_from(signing_key, dns):
    raw = signed(compose(sender=FORGED), signing_key[0], domain=b"mailer.example.org")

    verdict = verdict_of(raw, verify_dkim_signatures=True, dnsfunc=dns)

    assert (verdict.result, verdict.code) == ("none", "no_verdict")


def test_a_dns_failure_is_no_verdict_not_a_fail(signing_key):
    def broken(name, timeout=5):
        raise TimeoutError("SERVFAIL")

    raw = signed(compose(sender=FORGED), signing_key[0])

    verdict = verdict_of(raw, verify_dkim_signatures=True, dnsfunc=broken)

    assert (verdict.result, verdict.code) == ("none", "dkim_temperror")


def test_a_trusted_servers_verdict_comes_before_our_own_check(signing_key, dns):
    raw = signed(compose(sender=FORGED, headers=results(DMARC_FAIL)), signing_key[0])

    verdict = verdict_of(raw, verify_dkim_signatures=True, dnsfunc=dns)

    assert verdict.code == "dmarc_fail" and dns.asked == []


# --- The sources: the same decision whichever way the mail came -------------------------------


@pytest.mark.django_db
def test_a_forged_message_through_the_maildir_is_held(tmp_path, make_case, other_reason):
    make_case(email="ana@example.com")
    drop_into(tmp_path, "forged.eml", compose(sender=FORGED, headers=results(DMARC_FAIL)))
    drop_into(
        tmp_path, "real.eml", compose(sender=FORGED, subject="Otra", headers=results(DMARC_PASS))
    )

    fetch_maildir(tmp_path)
    for message in InboundMessage.objects.all():
        services.process_message(message_id=message.pk)

    outcomes = set(InboundMessage.objects.values_list("subject", "outcome"))
    assert outcomes == {("Consulta", Outcome.UNAUTHENTICATED), ("Otra", Outcome.CASE_OPENED)}


@pytest.fixture
def worker_trusting_our_server(celery_worker):
    """The session's worker, restarted with our server's authserv-id trusted (read when it
    starts, as in production), and restarted again without it afterwards."""
    celery_worker.stop()
    celery_worker.env["INBOUND_TRUSTED_AUTHSERV_IDS"] = OURS
    celery_worker.start()
    yield celery_worker
    celery_worker.stop()
    celery_worker.env.pop("INBOUND_TRUSTED_AUTHSERV_IDS")
    celery_worker.start()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_worker_holds_a_forged_message_and_adds_the_token_reply(
    worker_trusting_our_server, settings, make_case
):
    """Beat's Maildir job in the real worker, over the real broker: the same decision."""
    case = make_case(email="ana@example.com")
    maildir = settings.VAR_DIR / "mail-in"
    drop_into(maildir, "forged.eml", compose(sender=FORGED, headers=results(DMARC_FAIL)))
    reply = reply_to(case_mail(case), text="Era yo, sí.", headers=results(DMARC_FAIL))
    drop_into(maildir, "reply.eml", reply)

    tasks.fetch_inbound_maildir.delay()

    wait_for(lambda: InboundMessage.objects.exclude(status=Status.RECEIVED).count() == 2)
    forged = InboundMessage.objects.get(subject="Consulta")
    assert (forged.status, forged.outcome) == (Status.HELD, Outcome.UNAUTHENTICATED)
    assert forged.case is None
    event = case.events.get(kind=CaseEvent.Kind.CUSTOMER_MESSAGE)
    assert event.body == "Era yo, sí."


@pytest.mark.django_db
def test_a_forged_message_through_imap_is_held_and_a_token_reply_is_not(
    dovecot, make_case, other_reason
):
    case = make_case(email="ana@example.com")
    dovecot.deliver(
        compose(sender=FORGED, headers=results(DMARC_FAIL)),
        reply_to(case_mail(case), text="Sí, era yo.", headers=results(DMARC_FAIL)),
    )

    fetch_imap(ImapMailbox.from_url(dovecot.url()))
    for message in InboundMessage.objects.order_by("pk"):
        services.process_message(message_id=message.pk)

    forged, reply = InboundMessage.objects.order_by("pk")
    assert (forged.status, forged.outcome) == (Status.HELD, Outcome.UNAUTHENTICATED)
    assert (reply.status, reply.outcome) == (Status.PROCESSED, Outcome.REPLY_ADDED)


def test_the_headers_are_read_as_mail_clients_fold_them():
    raw = email.message_from_bytes(
        compose(sender=FORGED, headers=results(DMARC_PASS)), policy=email.policy.default
    ).as_bytes()

    assert verdict_of(raw).code == "dmarc_pass"
