"""TLS for the gRPC ports: a development CA and certificates, server credentials, client-certificate identity.

``make_dev_ca(out_dir)`` writes, with keys readable by the owner only:

    ca.pem, ca-key.pem                the development CA (10 years)
    server.pem, server-key.pem        for localhost / 127.0.0.1 / ::1 and any extra host names
    client-<name>.pem, client-<name>-key.pem   one per requested client (CN = name, OU = role, for people)
    client-roles.json                 the server's mapping of those client certificates to roles (client_roles.py)

The server takes a client certificate's role from the mapping file, never from its OU: any certificate the
client CA signed passes the handshake. In production the agency's own CA issues both kinds and the administrator
writes the mapping.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from silentcert.graph.errors import InvalidInput
from silentcert.services.security.client_roles import write_client_roles

DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the server's certificate chain and key, and optionally the CA that signs client certificates."""

    cert: Path
    key: Path
    client_ca: Path | None = None


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key, both PEM."""

    cert: bytes
    key: bytes


def server_credentials(files: TlsFiles) -> grpc.ServerCredentials:
    """TLS credentials; with a client CA, every client must present a certificate that CA signed (mutual TLS)."""
    chain, key = _read(files.cert, "tls-cert"), _read(files.key, "tls-key")
    client_ca = _read(files.client_ca, "tls-client-ca") if files.client_ca else None
    return grpc.ssl_server_credentials([(key, chain)], root_certificates=client_ca,
                                       require_client_auth=client_ca is not None)


def identity_of(pem: bytes) -> tuple[str, str | None]:
    """(name, role) from a client certificate's subject: CN and OU (role None when there is no OU)."""
    subject = x509.load_pem_x509_certificate(pem).subject
    names = subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    units = subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    return (str(names[0].value) if names else "", str(units[0].value) if units else None)


def make_dev_ca(out_dir: Path, hosts: Sequence[str] = DEFAULT_HOSTS,
                clients: Sequence[tuple[str, str]] = ()) -> dict[str, Path]:
    """Write a development CA, a server certificate for `hosts`, and one certificate per (name, role) client."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ca = issue_ca()
    written = {"ca": _save(out_dir, "ca", ca)}
    written["server"] = _save(out_dir, "server", issue_server(ca, hosts))
    issued: dict[str, tuple[bytes, str, str]] = {}
    for name, role in clients:
        client = issue_client(ca, name, role)
        written[f"client-{name}"] = _save(out_dir, f"client-{name}", client)
        issued[name] = (client.cert, name, role)
    if issued:
        written["client-roles"] = out_dir / "client-roles.json"
        write_client_roles(written["client-roles"], issued)
    return written


def issue_ca(common_name: str = "silentcert development CA", days: int = 3650) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (_builder(name, name, key, days)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False),
                           critical=True)
            .sign(key, hashes.SHA256()))
    return Issued(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def issue_server(ca: Issued, hosts: Sequence[str], days: int = 825) -> Issued:
    """A server certificate for the given DNS names and IP addresses."""
    alt_names = [_alt_name(h) for h in hosts]
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0] if hosts else "silentcert")])
    return _leaf(ca, subject, days, ExtendedKeyUsageOID.SERVER_AUTH, x509.SubjectAlternativeName(alt_names))


def issue_client(ca: Issued, name: str, role: str, days: int = 365) -> Issued:
    """A client certificate naming its holder (CN) and role (OU)."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name),
                         x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role)])
    return _leaf(ca, subject, days, ExtendedKeyUsageOID.CLIENT_AUTH, None)


def _leaf(ca: Issued, subject: x509.Name, days: int, usage: x509.ObjectIdentifier,
          alt_names: x509.SubjectAlternativeName | None) -> Issued:
    ca_cert = x509.load_pem_x509_certificate(ca.cert)
    ca_key = serialization.load_pem_private_key(ca.key, password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):  # what dev_ca makes
        raise InvalidInput("the CA key must be an elliptic-curve key", field="ca")
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (_builder(subject, ca_cert.subject, key, days)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
    if alt_names is not None:
        builder = builder.add_extension(alt_names, critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    return Issued(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def _builder(subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey, days: int
             ) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days)))


def _alt_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _save(out_dir: Path, stem: str, issued: Issued) -> Path:
    cert_path = out_dir / f"{stem}.pem"
    cert_path.write_bytes(issued.cert)
    key_path = out_dir / f"{stem}-key.pem"
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(issued.key)
    return cert_path


def _read(path: Path, flag: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"--{flag} {path}: cannot read ({exc.strerror})", field=flag) from None
