from cryptography import x509

from silentcert.services.security.client_roles import ClientRoles
from silentcert.services.security.tls import identity_of, make_dev_ca


def test_dev_ca_writes_certificates_and_private_keys(tmp_path):
    written = make_dev_ca(tmp_path, clients=[("kiosk-12", "certifier")])
    assert set(written) == {"ca", "server", "client-kiosk-12", "client-roles"}
    server = x509.load_pem_x509_certificate((tmp_path / "server.pem").read_bytes())
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert (tmp_path / "server-key.pem").stat().st_mode & 0o077 == 0
    assert identity_of((tmp_path / "client-kiosk-12.pem").read_bytes()) == ("kiosk-12", "certifier")
    mapped = ClientRoles.load(written["client-roles"]).caller_of((tmp_path / "client-kiosk-12.pem").read_bytes())
    assert (mapped.name, mapped.role) == ("kiosk-12", "certifier")
