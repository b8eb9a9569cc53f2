"""The address a delivery connects to is the one that was checked: the host is looked up once,
every address it has is checked, and the post goes to one of them with the name kept in the
Host header, the TLS SNI and the certificate check (no second lookup to rebind)."""

import datetime
import socket
import ssl

import pytest
import urllib3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.harness import WebhookReceiver
from tests.webhooks.test_events import open_case
from webhooks import services
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db
NAME = "hooks.example.test"


class Resolver:
    """A DNS that answers each lookup of a name with the next of its answers (the last one
    again once they run out), and counts the lookups."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.lookups = 0

    def __call__(self, host, port, *args, **kwargs) -> list[tuple]:
        address = self.answers[min(self.lookups, len(self.answers) - 1)]
        self.lookups += 1
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]


def endpoint_at(url: str, receiver: WebhookReceiver) -> None:
    new = services.create_endpoint(name="CRM", url=url, event_types=["case.opened"], owner=None)
    receiver.secret = new.secret


def test_a_name_is_looked_up_once_and_posted_to_with_its_host_header(receiver):
    endpoint_at(f"http://{NAME}:{receiver.port}/hooks/?source=help", receiver)
    dns = Resolver("127.0.0.1")
    open_case()

    assert services.deliver(delivery_id=Delivery.objects.get().pk, resolver=dns) == "delivered"
    assert dns.lookups == 1
    assert receiver.hosts == [f"{NAME}:{receiver.port}"]


def test_a_name_that_rebinds_to_loopback_after_the_check_cannot_reach_it(receiver, settings):
    endpoint_at(f"http://{NAME}:{receiver.port}/hooks/", receiver)
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    settings.WEBHOOKS_CONNECT_TIMEOUT = 0.3
    # A public address for the check, then loopback for whoever asks again.
    dns = Resolver("8.8.8.8", "127.0.0.1")
    open_case()

    assert services.deliver(delivery_id=Delivery.objects.get().pk, resolver=dns) == "retry"
    assert dns.lookups == 1  # the connection went to 8.8.8.8 (or found no route to it)
    assert not receiver.received and not receiver.rejected


def test_a_name_with_one_private_address_among_public_ones_is_refused(receiver, settings):
    endpoint_at(f"http://{NAME}:{receiver.port}/hooks/", receiver)
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False

    def dns(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))
            for address in ("8.8.8.8", "127.0.0.1")
        ]

    open_case()
    assert services.deliver(delivery_id=Delivery.objects.get().pk, resolver=dns) == "retry"
    assert Delivery.objects.get().last_error == "url_private"  # said in the reader's language
    assert not receiver.received


# --- https: the certificate is checked against the name, not the address -------------------


def _certificate_authority(tmp_path):
    """A CA, and a certificate it signed for NAME; returns (the CA's file, the server's
    ssl context)."""
    # OpenSSL checks validity against the machine's real clock, which the suite's moved clocks
    # (tests.clock) do not move: a window that holds any date the suite can run on.
    valid_from = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
    valid_until = datetime.datetime(2099, 12, 31, tzinfo=datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test webhooks CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from)
        .not_valid_after(valid_until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAME)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from)
        .not_valid_after(valid_until)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(NAME)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain = tmp_path / "server.pem"
    chain.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + leaf.public_bytes(serialization.Encoding.PEM)
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain)
    names: list[str] = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    return ca_file, context, names


@pytest.fixture
def tls_receiver(tmp_path, monkeypatch):
    """A loopback https receiver with a certificate for NAME from a test CA, which the site's
    client trusts (only its trust store is replaced: the pinning code is the real one)."""
    ca_file, context, names = _certificate_authority(tmp_path)
    receiver = WebhookReceiver()
    receiver.tls = context
    receiver.start()
    receiver.sni_names = names
    monkeypatch.setattr(services, "_pool", lambda: urllib3.PoolManager(ca_certs=str(ca_file)))
    yield receiver
    receiver.stop()


def test_https_goes_to_the_checked_address_with_the_name_in_sni_and_certificate(tls_receiver):
    endpoint_at(f"https://{NAME}:{tls_receiver.port}/hooks/", tls_receiver)
    dns = Resolver("127.0.0.1")
    open_case()

    assert services.deliver(delivery_id=Delivery.objects.get().pk, resolver=dns) == "delivered"
    assert dns.lookups == 1
    assert tls_receiver.sni_names == [NAME]
    assert tls_receiver.hosts == [f"{NAME}:{tls_receiver.port}"]


def test_https_to_a_name_the_certificate_is_not_for_fails(tls_receiver):
    endpoint_at(f"https://other.example.test:{tls_receiver.port}/hooks/", tls_receiver)
    open_case()

    outcome = services.deliver(
        delivery_id=Delivery.objects.get().pk, resolver=Resolver("127.0.0.1")
    )
    assert outcome == "retry" and not tls_receiver.received
    assert "doesn't match 'hooks.example.test'" in Delivery.objects.get().last_error
