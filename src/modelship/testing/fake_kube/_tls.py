"""A throw-away certificate authority for the fake API server's HTTPS, made per test.

With ``cryptography`` installed the keys and certificates are made in process; otherwise
the ``openssl`` command line is used. Nothing here is fit for anything but tests: the
keys are written unencrypted to the folder given.
"""

from __future__ import annotations

import datetime
import importlib.util
import ipaddress
import shutil
import subprocess
from pathlib import Path

import attrs

from modelship.errors import MissingDependency

__all__ = ["TestPKI", "make_pki"]


@attrs.frozen
class TestPKI:
    """Paths of a CA and of the server and client certificates it signed (PEM files).

    The server certificate names ``127.0.0.1`` and ``localhost``; the client
    certificate's subject is ``CN=<client_name>, O=system:masters``.

    Examples
    --------
    >>> import tempfile
    >>> make_pki(tempfile.mkdtemp()).server_key.stat().st_mode & 0o077
    0
    """

    __test__ = False  # not a pytest test class

    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def make_pki(folder: str | Path, client_name: str = "modelship-test") -> TestPKI:
    """Make a CA, a server certificate for 127.0.0.1 and a client certificate in ``folder``.

    Raises
    ------
    MissingDependency
        Neither ``cryptography`` nor the ``openssl`` command is available.

    Examples
    --------
    >>> import tempfile
    >>> pki = make_pki(tempfile.mkdtemp())
    >>> pki.ca_cert.read_text().startswith("-----BEGIN CERTIFICATE-----")
    True
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pki = TestPKI(
        ca_cert=folder / "ca.crt",
        server_cert=folder / "server.crt",
        server_key=folder / "server.key",
        client_cert=folder / "client.crt",
        client_key=folder / "client.key",
    )
    if importlib.util.find_spec("cryptography") is None:
        _with_openssl(folder, pki, client_name)
    else:
        _with_cryptography(pki, client_name)
    return pki


def _with_cryptography(pki: TestPKI, client_name: str) -> None:
    try:  # make_pki checked find_spec; a broken install falls back to the openssl command
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependency(
            f"making a test CA in process needs cryptography: pip install cryptography ({exc})"
        ) from exc

    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=1)

    def name(cn: str, org: str | None = None) -> x509.Name:
        parts = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
        if org:
            parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
        return x509.Name(parts)

    def write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        path.chmod(0o600)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("modelship-test-ca"))
        .issuer_name(name("modelship-test-ca"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    pki.ca_cert.write_bytes(ca.public_bytes(serialization.Encoding.PEM))

    def issue(subject: x509.Name, cert_path: Path, key_path: Path, server: bool) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
        cert = builder.sign(ca_key, hashes.SHA256())
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        write_key(key, key_path)

    issue(name("127.0.0.1"), pki.server_cert, pki.server_key, server=True)
    issue(name(client_name, "system:masters"), pki.client_cert, pki.client_key, server=False)


def _with_openssl(folder: Path, pki: TestPKI, client_name: str) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise MissingDependency(
            "making a test CA needs cryptography (pip install cryptography) or the openssl command"
        )

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, timeout=60)

    ca_key = folder / "ca.key"
    run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(ca_key))
    run(
        "req", "-x509", "-new", "-key", str(ca_key), "-days", "1", "-subj",
        "/CN=modelship-test-ca", "-out", str(pki.ca_cert),
    )  # fmt: skip

    def issue(subject: str, cert: Path, key: Path, ext: str) -> None:
        csr = cert.with_suffix(".csr")
        extfile = cert.with_suffix(".ext")
        extfile.write_text(ext)
        run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key))
        run("req", "-new", "-key", str(key), "-subj", subject, "-out", str(csr))
        run(
            "x509", "-req", "-in", str(csr), "-CA", str(pki.ca_cert), "-CAkey", str(ca_key),
            "-CAcreateserial", "-days", "1", "-extfile", str(extfile), "-out", str(cert),
        )  # fmt: skip

    issue(
        "/CN=127.0.0.1",
        pki.server_cert,
        pki.server_key,
        "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    issue(
        f"/O=system:masters/CN={client_name}",
        pki.client_cert,
        pki.client_key,
        "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
    )
