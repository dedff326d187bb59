"""Throwaway TLS certificates for tests of the mail adapters against real servers.

``make_tls_files(directory)`` writes a private CA and a server certificate it signed, valid
for ``localhost`` and ``127.0.0.1``. Clients trust the CA through ``imap_ca_file`` /
``smtp_ca_file``, exactly as an inbox pointing at a self-hosted server would; a second call
gives an unrelated CA, which is how the tests present a certificate that must not verify.

A CA plus a leaf (rather than one self-signed leaf) keeps verification working under the
stricter X.509 checks newer Python versions turn on by default.

Uses the ``cryptography`` package, which the virtualenv has through Daphne (Twisted's TLS
extra); no network, no ``openssl`` binary.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclasses.dataclass
class TLSFiles:
    ca_file: Path  # PEM certificate of the CA: what a client trusts
    cert_file: Path  # PEM server certificate (signed by the CA)
    key_file: Path  # PEM private key of the server certificate, unencrypted

    def server_context(self) -> ssl.SSLContext:
        """A server-side context presenting the certificate (for aiosmtpd)."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test only"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def make_tls_files(directory: Path, *, prefix: str = "server", days: int = 2) -> TLSFiles:
    """Write ``<prefix>-ca.pem``, ``<prefix>-cert.pem`` and ``<prefix>-key.pem`` into
    ``directory`` and return their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    # A day of slack on both sides: a clock a little off must not make the test fail.
    now = dt.datetime.now(dt.timezone.utc)
    not_before, not_after = now - dt.timedelta(days=1), now + dt.timedelta(days=days)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"{prefix} test CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost")).issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    files = TLSFiles(ca_file=directory / f"{prefix}-ca.pem", cert_file=directory / f"{prefix}-cert.pem",
                     key_file=directory / f"{prefix}-key.pem")
    files.ca_file.write_bytes(_pem(ca_cert))
    files.cert_file.write_bytes(_pem(cert))
    files.key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                 serialization.PrivateFormat.TraditionalOpenSSL,
                                                 serialization.NoEncryption()))
    files.key_file.chmod(0o600)
    return files
