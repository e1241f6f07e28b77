"""The ``[broker]`` section: where the central broker is, how it is checked (TLS against a CA),
and how the gateway proves who it is (a username with a password file, a client certificate).
Part of edge.settings.config.

Files are checked when the configuration is read, so that the daemon refuses to start, naming
the key, rather than failing to connect later: a password file open to group or others, a
private key open to others, a missing file, a plain-text broker that is not on this machine
(unless ``allow_insecure``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from edge.settings.limits import host_problem
from sync.broker_security import (
    BrokerSecurity,
    holds_private_key,
    password_file_problem,
    pem_file_problem,
    plain_text_problem,
    read_password_file,
)
from sync.broker_url import BrokerAddress

BROKER_EXAMPLES = {
    "url": 'url = "mqtts://broker.example.net:8883"  (or mqtt://127.0.0.1:1883 on this machine)',
    "client_id": 'client_id = "rxedge-pharmacy-0042-gw-1"',
    "ca_file": 'ca_file = "/etc/rxedge/broker-ca.pem"  (PEM; default: the system\'s CAs)',
    "cert_file": 'cert_file = "/etc/rxedge/gateway.crt"  (PEM client certificate)',
    "key_file": 'key_file = "/etc/rxedge/gateway.key"  (PEM; chmod 600)',
    "username": 'username = "pharmacy-0042/gw-1"  ({site}/{gateway} with the ACL example)',
    "password_file": (
        'password_file = "/etc/rxedge/mqtt-password"  (the password alone; chmod 600, owned by '
        "the service user)"
    ),
    "allow_insecure": "allow_insecure = false  (true: accept plain mqtt:// beyond this machine)",
}


class BrokerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Declared before url: the url check reads it.
    allow_insecure: bool = False
    url: str = "mqtt://127.0.0.1:1883"
    client_id: str | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    username: Annotated[str, Field(min_length=1)] | None = None
    password_file: Path | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str, info: ValidationInfo) -> str:
        broker = BrokerAddress.parse(value)
        if (bad_host := host_problem(broker.host)) is not None:
            raise ValueError(f"broker URL {value!r}: {bad_host}")
        problem = plain_text_problem(broker)
        if problem is not None and info.data.get("allow_insecure") is False:
            raise ValueError(
                f"{problem}; use mqtts://{broker.host}:8883 (TLS), or set allow_insecure = true "
                "to accept that"
            )
        return value

    @field_validator("ca_file", "cert_file")
    @classmethod
    def _pem(cls, value: Path | None) -> Path | None:
        if value is not None and (problem := pem_file_problem(value)) is not None:
            raise ValueError(problem)
        return value

    @field_validator("key_file")
    @classmethod
    def _key(cls, value: Path | None) -> Path | None:
        if value is not None and (problem := pem_file_problem(value, private=True)) is not None:
            raise ValueError(problem)
        return value

    @field_validator("password_file")
    @classmethod
    def _password(cls, value: Path | None) -> Path | None:
        if value is not None and (problem := password_file_problem(value)) is not None:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _together(self) -> BrokerConfig:
        tls_files = [
            key for key in ("ca_file", "cert_file", "key_file") if getattr(self, key) is not None
        ]
        if tls_files and not BrokerAddress.parse(self.url).tls:
            raise ValueError(
                f"{', '.join(tls_files)} apply to TLS only, but url is plain mqtt://; "
                'e.g. url = "mqtts://broker.example.net:8883"'
            )
        if self.key_file is not None and self.cert_file is None:
            raise ValueError(
                "key_file needs the certificate it belongs to; "
                'e.g. cert_file = "/etc/rxedge/gateway.crt"'
            )
        if (
            self.cert_file is not None
            and self.key_file is None
            and not holds_private_key(self.cert_file)
        ):
            raise ValueError(
                f"cert_file {self.cert_file} holds no private key; "
                'e.g. key_file = "/etc/rxedge/gateway.key"'
            )
        if self.password_file is not None and self.username is None:
            raise ValueError(
                "password_file needs the username it belongs to; "
                'e.g. username = "pharmacy-0042/gw-1"'
            )
        return self

    def security(self) -> BrokerSecurity:
        """The settings for the MQTT client, the password read from its file now
        (BrokerSecretError if the file has become unusable since the configuration was read)."""
        return BrokerSecurity(
            ca_file=self.ca_file,
            cert_file=self.cert_file,
            key_file=self.key_file,
            username=self.username,
            password=None if self.password_file is None else read_password_file(self.password_file),
        )
