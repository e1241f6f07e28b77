"""The `[broker]` section: the daemon refuses to start with a plain-text broker that is not on
this machine (unless allow_insecure), with a password file others can read or that is missing,
and with TLS files that cannot work; each refusal names the key and shows the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edge.cli.main import main
from edge.settings.config import ConfigError, parse_config
from edge.web.server import WebSetupError, web_state
from tests.broker_pki import BrokerPki, make_pki

SITE = {"site": "s1", "gateway": "a"}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> BrokerPki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "mqtt-password"
    path.write_text("secret-a\n")
    path.chmod(0o600)
    return path


def problems(broker: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config({**SITE, "broker": broker})
    return "\n".join(caught.value.problems)


@pytest.mark.parametrize("url", ["mqtt://10.0.0.5:1883", "mqtt://broker.example.net"])
def test_a_plain_text_broker_beyond_this_machine_is_refused_unless_allowed(url: str) -> None:
    found = problems({"url": url})
    assert found.startswith("broker.url: ")
    assert "plain text" in found and "allow_insecure = true" in found
    assert "e.g. url = " in found and "mqtts://" in found
    config = parse_config({**SITE, "broker": {"url": url, "allow_insecure": True}})
    assert config.broker.url == url


@pytest.mark.parametrize(
    "url",
    ["mqtt://127.0.0.1:1883", "mqtt://127.0.1.1", "mqtt://[::1]:1883", "mqtt://localhost"],
)
def test_plain_text_on_this_machine_needs_no_exception(url: str) -> None:
    assert parse_config({**SITE, "broker": {"url": url}}).broker.url == url


def test_a_password_file_others_can_read_or_that_is_missing_is_refused(
    password_file: Path,
) -> None:
    broker = {"url": "mqtt://127.0.0.1", "username": "s1/a", "password_file": str(password_file)}
    for mode in (0o644, 0o640):
        password_file.chmod(mode)
        found = problems(broker)
        assert found.startswith("broker.password_file: ")
        assert f"mode {mode:04o}" in found and f"chmod 600 {password_file}" in found
        assert "e.g. password_file = " in found
    password_file.unlink()
    assert "does not exist" in problems(broker)


def test_the_password_is_read_from_its_file_and_kept_out_of_sight(password_file: Path) -> None:
    password_file.chmod(0o400)
    config = parse_config(
        {
            **SITE,
            "broker": {
                "url": "mqtt://127.0.0.1",
                "username": "s1/a",
                "password_file": str(password_file),
            },
        }
    )
    security = config.broker.security()
    assert (security.username, security.password) == ("s1/a", "secret-a")
    assert "secret-a" not in repr(security) and "secret-a" not in repr(config)


def test_settings_that_cannot_work_together_are_refused(
    tmp_path: Path, pki: BrokerPki, password_file: Path
) -> None:
    tls = "mqtts://broker.example.net:8883"
    found = problems({"url": "mqtt://127.0.0.1", "ca_file": str(pki.ca.ca_file)})
    assert "ca_file apply to TLS only" in found and 'url = "mqtts://' in found
    found = problems({"url": tls, "password_file": str(password_file)})
    assert "password_file needs the username" in found and "username = " in found
    found = problems({"url": tls, "key_file": str(pki.gateway_a.key_file)})
    assert "key_file needs the certificate" in found
    found = problems({"url": tls, "cert_file": str(pki.gateway_a.cert_file)})
    assert "holds no private key" in found and "key_file = " in found
    found = problems({"url": tls, "ca_file": str(tmp_path / "nowhere.pem")})
    assert found.startswith("broker.ca_file: ") and "does not exist" in found
    open_key = tmp_path / "open.key"
    open_key.write_bytes(pki.gateway_a.key_file.read_bytes())
    open_key.chmod(0o644)
    found = problems(
        {"url": tls, "cert_file": str(pki.gateway_a.cert_file), "key_file": str(open_key)}
    )
    assert found.startswith("broker.key_file: ") and "chmod 600" in found
    assert "did you mean 'password_file'" in problems({"url": tls, "pasword_file": "x"})
    config = parse_config(
        {
            **SITE,
            "broker": {
                "url": tls,
                "ca_file": str(pki.ca.ca_file),
                "cert_file": str(pki.gateway_a.cert_file),
                "key_file": str(pki.gateway_a.key_file),
            },
        }
    )
    assert config.broker.security().cert_file == pki.gateway_a.cert_file


@pytest.mark.parametrize(
    ("broker", "words"),
    [
        ('url = "mqtt://10.0.0.5:1883"', "allow_insecure = true"),
        (
            'url = "mqtt://127.0.0.1:1883"\nusername = "s1/a"\npassword_file = "{secret}"',
            "chmod 600",
        ),
        (
            'url = "mqtt://127.0.0.1:1883"\nusername = "s1/a"\npassword_file = "{secret}.gone"',
            "does not exist",
        ),
    ],
)
def test_the_daemon_refuses_to_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], broker: str, words: str
) -> None:
    secret = tmp_path / "mqtt-password"
    secret.write_text("secret-a\n")
    secret.chmod(0o644)
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'site = "s1"\ngateway = "a"\ndatabase = "{tmp_path / "ledger.sqlite"}"\n'
        f"[broker]\n{broker.format(secret=secret)}\n"
    )
    assert main(["run", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "problem(s)" in err and words in err
    assert not (tmp_path / "ledger.sqlite").exists()


def test_the_tools_refuse_what_the_daemon_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "mqtt-password"
    secret.write_text("secret-p\n")
    secret.chmod(0o640)
    target = ["--site", "s1", "--gateway", "a"]
    attempts = [
        (["procurement", "watch", "--broker", "mqtt://10.0.0.5:1883"], "--allow-insecure"),
        (
            [
                *("locate", "04012345123456", "--broker", "mqtts://127.0.0.1:8883", *target),
                *("--username", "procurement", "--password-file", str(secret)),
            ],
            "--password-file: ",
        ),
        (
            [
                *("procurement", "status", "x", "ordered", "--broker", "mqtt://127.0.0.1", *target),
                *("--ca-file", str(tmp_path / "ca.pem")),
            ],
            "--ca-file: ",
        ),
    ]
    for argv, words in attempts:
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2
        assert words in capsys.readouterr().err


def test_the_watch_refuses_plain_nats_beyond_this_machine(
    capsys: pytest.CaptureFixture[str],
) -> None:
    servers = "nats://127.0.0.1:4222,10.0.0.5:4222"
    assert main(["procurement", "watch", "--nats", servers, "--durable", "desk"]) == 2
    said = capsys.readouterr().err
    assert "--nats: 10.0.0.5:4222 is plain NATS to a host that is not this machine" in said
    assert "use tls://" in said and "--allow-insecure" in said


def test_several_brokers_are_tried_in_the_order_given_and_checked_like_one() -> None:
    urls = ["mqtt://127.0.0.1:1883", "mqtt://127.0.0.1:1884"]
    config = parse_config({**SITE, "broker": {"urls": urls, "protocol": "3.1.1"}})
    assert [a.url for a in config.broker.addresses] == urls
    assert config.broker.protocol == "3.1.1"
    assert "not both" in problems({"url": urls[0], "urls": urls})
    assert "one scheme" in problems({"urls": [urls[0], "mqtts://127.0.0.1:8883"]})
    beyond = problems({"urls": [urls[0], "mqtt://10.0.0.5:1883"]})
    assert beyond.startswith("broker.urls: ") and "allow_insecure = true" in beyond


def test_the_protocol_is_5_or_3_1_1_and_the_error_shows_the_key() -> None:
    found = problems({"protocol": "3"})
    assert found.startswith("broker.protocol: ")
    assert 'protocol = "5"  (or "3.1.1"' in found


def test_a_certificate_file_holding_its_key_is_refused_when_others_can_read_it(
    tmp_path: Path, pki: BrokerPki
) -> None:
    """A client certificate and its key in one file (no key_file): the key is as secret there
    as in a file of its own, for the broker's certificate and for the web page's."""
    both = tmp_path / "gateway.pem"
    both.write_bytes(pki.gateway_a.cert_file.read_bytes() + pki.gateway_a.key_file.read_bytes())
    both.chmod(0o644)
    found = problems({"url": "mqtts://broker.example.net:8883", "cert_file": str(both)})
    assert found.startswith("broker.cert_file: ") and f"chmod 600 {both}" in found
    config = parse_config(
        {
            **SITE,
            "database": str(tmp_path / "ledger.sqlite"),
            "web": {"cert_file": str(both), "key_file": str(both)},
        }
    )
    with pytest.raises(WebSetupError) as refused:
        web_state(config)
    assert f"web.cert_file: {both} is a private key open to others" in str(refused.value)
    both.chmod(0o640)
    config = parse_config(
        {**SITE, "broker": {"url": "mqtts://broker.example.net:8883", "cert_file": str(both)}}
    )
    assert config.broker.security().cert_file == both


def test_a_password_in_the_broker_url_is_refused_without_being_repeated(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A password written into the URL would be sent nowhere (and, on a command line, shown to
    every user by `ps`): it is refused, naming the settings that carry one, and the error (for
    the journal, the terminal) does not repeat it."""
    for url in (
        "mqtt://gw-a:hunter2-pw@127.0.0.1:1883",
        "mqtt://gw-a:hunter2-pw@127.0.0.1:18x3",
        "mqtp://gw-a:hunter2-pw@127.0.0.1",
    ):
        found = problems({"url": url})
        assert found.startswith("broker.url: ") and "password_file" in found, found
        assert "hunter2" not in found
    with pytest.raises(SystemExit):
        main(
            [
                "locate",
                "04012345123456",
                "--site",
                "s1",
                "--gateway",
                "a",
                "--broker",
                "mqtt://gw:hunter2-pw@127.0.0.1:1883",
            ]
        )
    err = capsys.readouterr().err
    assert "--password-file" in err and "hunter2" not in err
