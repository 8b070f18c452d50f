"""Which client certificate is which caller: an explicit mapping file, never the certificate's OU alone.

Any certificate the client CA signed passes the TLS handshake, and whoever can get one signed chooses its OU; so
the role comes from this file, written by the administrator (``silentcert security dev-ca --client`` writes one
for the certificates it issues):

    {"certificates": [
      {"sha256": "9f86d08…", "name": "kiosk-12", "role": "certifier"},
      {"subject": "CN=desk-4,OU=reader,O=Pension Agency", "role": "reader"}
    ]}

An entry names one certificate by its SHA-256 fingerprint (hex of the DER) or every certificate with one exact
subject (RFC 4514, as ``openssl x509 -subject -nameopt rfc2253`` prints it); ``name`` defaults to the subject's
CN. A certificate matching no entry is UNAUTHENTICATED. The file is read at start.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from silentcert.graph.errors import InvalidInput
from silentcert.services.security.roles import ROLES


@dataclass(frozen=True)
class CertificateCaller:
    name: str
    role: str


def fingerprint(pem: bytes) -> str:
    """SHA-256 of the certificate's DER, lowercase hex."""
    return x509.load_pem_x509_certificate(pem).fingerprint(hashes.SHA256()).hex()


def subject_of(pem: bytes) -> str:
    return x509.load_pem_x509_certificate(pem).subject.rfc4514_string()


class ClientRoles:
    """The mapping file, loaded: certificate → (name, role)."""

    def __init__(self, by_fingerprint: dict[str, CertificateCaller], by_subject: dict[str, CertificateCaller]):
        self.by_fingerprint = by_fingerprint
        self.by_subject = by_subject

    @classmethod
    def load(cls, path: Path) -> ClientRoles:
        """InvalidInput naming the file and the entry when it is not a mapping this module reads."""
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))["certificates"]
        except OSError as exc:
            raise InvalidInput(f"client roles file {path} cannot be read ({exc.strerror})", field="client-roles") \
                from None
        except (ValueError, KeyError, TypeError):
            raise InvalidInput(f'client roles file {path} is not {{"certificates": [...]}} JSON',
                               field="client-roles") from None
        by_fingerprint: dict[str, CertificateCaller] = {}
        by_subject: dict[str, CertificateCaller] = {}
        for number, entry in enumerate(entries, 1):
            key, caller = _entry(path, number, entry)
            (by_fingerprint if "sha256" in entry else by_subject)[key] = caller
        return cls(by_fingerprint, by_subject)

    def caller_of(self, pem: bytes) -> CertificateCaller | None:
        """Who the certificate is, or None when the mapping does not name it."""
        found = self.by_fingerprint.get(fingerprint(pem)) or self.by_subject.get(subject_of(pem))
        if found is None or found.name:
            return found
        names = x509.load_pem_x509_certificate(pem).subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return CertificateCaller(str(names[0].value), found.role) if names else None


def _entry(path: Path, number: int, entry: object) -> tuple[str, CertificateCaller]:
    where = f"client roles file {path}, entry {number}"
    if not isinstance(entry, dict) or ("sha256" in entry) == ("subject" in entry):
        raise InvalidInput(f"{where}: give exactly one of sha256 and subject", field="client-roles")
    if entry.get("role") not in ROLES:
        raise InvalidInput(f"{where}: role must be one of {', '.join(ROLES)}, got {entry.get('role')!r}",
                           field="client-roles")
    key = str(entry["sha256"]).lower().replace(":", "") if "sha256" in entry else str(entry["subject"])
    return key, CertificateCaller(str(entry.get("name") or ""), entry["role"])


def write_client_roles(path: Path, issued: dict[str, tuple[bytes, str, str]]) -> None:
    """A mapping file naming each certificate (pem, name, role) by fingerprint."""
    entries = [{"sha256": fingerprint(pem), "name": name, "role": role} for pem, name, role in issued.values()]
    path.write_text(json.dumps({"certificates": entries}, indent=1) + "\n", encoding="utf-8")
