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
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from edge.settings.limits import SettingsFilePath, host_problem
from sync.broker_security import (
    BrokerSecurity,
    holds_private_key,
    password_file_problem,
    pem_file_problem,
    plain_text_problem,
    read_password_file,
)
from sync.broker_url import BrokerAddress, BrokerRotation

BROKER_EXAMPLES = {
    "url": 'url = "mqtts://broker.example.net:8883"  (or mqtt://127.0.0.1:1883 on this machine)',
    "urls": (
        'urls = ["mqtts://node-1.example.net:8883", "mqtts://node-2.example.net:8883"]  '
        "(tried in order; instead of url)"
    ),
    "broker.protocol": 'protocol = "5"  (or "3.1.1" for a broker that speaks only MQTT 3.1.1)',
    "client_id": 'client_id = "rxedge-pharmacy-0042-gw-1"',
    "ca_file": 'ca_file = "/etc/rxedge/broker-ca.pem"  (PEM; default: the system\'s CAs)',
    "cert_file": 'cert_file = "/etc/rxedge/gateway.crt"  (PEM client certificate)',
    "key_file": (
        'key_file = "/etc/rxedge/gateway.key"  (PEM, readable by the service user and no '
        "other: chown rxedge and chmod 600, or root:rxedge and chmod 640)"
    ),
    "username": 'username = "pharmacy-0042/gw-1"  ({site}/{gateway} with the ACL example)',
    "password_file": (
        'password_file = "/etc/rxedge/mqtt-password"  (the password alone; chmod 600, owned by '
        "the service user)"
    ),
    "allow_insecure": "allow_insecure = false  (true: accept plain mqtt:// beyond this machine)",
}


# Settings of no use without another: (setting, the one it needs, what that one is, an example).
_BELONGS_TO = (
    ("key_file", "cert_file", "certificate", '"/etc/rxedge/gateway.crt"'),
    ("password_file", "username", "username", '"pharmacy-0042/gw-1"'),
)


class BrokerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Declared before url: the url check reads it.
    allow_insecure: bool = False
    url: str = "mqtt://127.0.0.1:1883"
    urls: Annotated[list[str], Field(min_length=1)] | None = None
    protocol: Literal["5", "3.1.1"] = "5"
    client_id: str | None = None
    ca_file: SettingsFilePath | None = None
    cert_file: SettingsFilePath | None = None
    key_file: SettingsFilePath | None = None
    username: Annotated[str, Field(min_length=1)] | None = None
    password_file: SettingsFilePath | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str, info: ValidationInfo) -> str:
        _check_url(value, info.data.get("allow_insecure") is True)
        return value

    @field_validator("urls")
    @classmethod
    def _urls(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        if value is not None:
            for url in value:
                _check_url(url, info.data.get("allow_insecure") is True)
            BrokerRotation([BrokerAddress.parse(url) for url in value])  # one scheme for all
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

    @property
    def addresses(self) -> list[BrokerAddress]:
        """The brokers to connect to, in the order to try them."""
        return [BrokerAddress.parse(url) for url in (self.urls or [self.url])]

    @property
    def urls_text(self) -> str:
        return ", ".join(self.urls or [self.url])

    @model_validator(mode="after")
    def _together(self) -> BrokerConfig:
        if self.urls is not None and "url" in self.model_fields_set:
            raise ValueError(
                "give url (one broker) or urls (several, tried in order), not both; e.g. "
                'urls = ["mqtt://127.0.0.1:1883", "mqtt://127.0.0.1:1884"]'
            )
        tls_files = [
            key for key in ("ca_file", "cert_file", "key_file") if getattr(self, key) is not None
        ]
        if tls_files and not self.addresses[0].tls:
            raise ValueError(
                f"{', '.join(tls_files)} apply to TLS only, but url is plain mqtt://; "
                'e.g. url = "mqtts://broker.example.net:8883"'
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
        for key, needed, what, example in _BELONGS_TO:
            if getattr(self, key) is not None and getattr(self, needed) is None:
                raise ValueError(f"{key} needs the {what} it belongs to; e.g. {needed} = {example}")
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


def _check_url(url: str, allow_insecure: bool) -> None:
    broker = BrokerAddress.parse(url)
    if (bad_host := host_problem(broker.host)) is not None:
        raise ValueError(f"broker URL {url!r}: {bad_host}")
    problem = plain_text_problem(broker)
    if problem is not None and not allow_insecure:
        raise ValueError(
            f"{problem}; use mqtts://{broker.host}:8883 (TLS), or set allow_insecure = true "
            "to accept that"
        )
