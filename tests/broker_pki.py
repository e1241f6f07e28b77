"""Throwaway certificate authorities for tests: a CA, a server certificate for 127.0.0.1 and
localhost, client certificates, all made with the openssl command (short-lived EC keys)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

_EXTENSIONS = """\
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[elsewhere]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:broker.example.net
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def _openssl(*args: str | Path) -> None:
    tool = shutil.which("openssl")
    if tool is None:
        pytest.fail("the openssl command is not installed: apt-get install openssl")
    result = subprocess.run([tool, *map(str, args)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(map(str, args))} failed: {result.stderr}")


@dataclass(frozen=True, slots=True)
class Issued:
    """A certificate and its private key (PEM files, the key mode 0600)."""

    cert_file: Path
    key_file: Path


@dataclass(frozen=True, slots=True)
class Authority:
    """A CA that signs server and client certificates into its directory."""

    directory: Path
    ca_file: Path
    key_file: Path

    @classmethod
    def create(cls, directory: Path, name: str = "rxedge test CA") -> Authority:
        directory.mkdir(parents=True, exist_ok=True)
        extensions = directory / "extensions.cnf"
        extensions.write_text(_EXTENSIONS)
        ca_file, key_file = directory / "ca.pem", directory / "ca.key"
        _openssl(
            *("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"),
            *("-nodes", "-keyout", key_file, "-out", ca_file, "-days", "2", "-subj", f"/CN={name}"),
            *("-config", extensions, "-extensions", "ca"),
        )
        return cls(directory, ca_file, key_file)

    def issue(self, name: str, kind: str = "client") -> Issued:
        """A certificate for `name` (the CN): kind "server" (for 127.0.0.1 and localhost),
        "elsewhere" (a server certificate for broker.example.net only) or "client"."""
        stem = name.replace("/", "_")
        key, request, cert = (self.directory / f"{stem}{s}" for s in (".key", ".csr", ".pem"))
        _openssl(
            *("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"),
            *("-keyout", key, "-out", request, "-subj", "/CN=" + name.replace("/", "\\/")),
        )
        _openssl(
            *("x509", "-req", "-in", request, "-CA", self.ca_file, "-CAkey", self.key_file),
            *("-CAcreateserial", "-out", cert, "-days", "2"),
            *("-extfile", self.directory / "extensions.cnf", "-extensions", kind),
        )
        key.chmod(0o600)
        return Issued(cert, key)


@dataclass(frozen=True, slots=True)
class BrokerPki:
    """What the broker tests use: the broker's CA and server certificate, gateway client
    certificates from it, and a second CA with a client certificate of its own (a stranger)."""

    ca: Authority
    server: Issued
    server_elsewhere: Issued
    gateway_a: Issued
    gateway_b: Issued
    other_ca: Authority
    stranger: Issued


def make_pki(directory: Path) -> BrokerPki:
    ca = Authority.create(directory / "ca")
    other = Authority.create(directory / "other-ca", "some other CA")
    return BrokerPki(
        ca=ca,
        server=ca.issue("127.0.0.1", "server"),
        server_elsewhere=ca.issue("broker.example.net", "elsewhere"),
        gateway_a=ca.issue("s1/a"),
        gateway_b=ca.issue("s1/b"),
        other_ca=other,
        stranger=other.issue("s1/a"),
    )
