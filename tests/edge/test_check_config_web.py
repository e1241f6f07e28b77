"""`rxedge check-config` on a file that sets up the web page ([web]) says what `rxedge web` would
refuse to start on: as an error what is wrong on any machine, as a warning the files this
machine lacks (yet). Both commands run here as people run them, as processes; neither ends in a
traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RXEDGE = [sys.executable, "-m", "edge.cli.main"]


def rxedge(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*RXEDGE, *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def gateway_file(tmp_path: Path, text: str) -> Path:
    """A gateway's file with a ledger in place (so that only the page's settings are judged)."""
    ledger = tmp_path / "ledger.sqlite"
    ledger.touch()
    path = tmp_path / "gateway.toml"
    path.write_text(
        f'site = "s1"\ngateway = "g1"\ndatabase = "{ledger}"\n'
        f'[metrics]\nlisten = "127.0.0.1:9464"\n{text}'
    )
    return path


@pytest.mark.parametrize(
    ("web", "words", "status"),
    [
        (
            'listen = "0.0.0.0:8080"\n',
            "web.listen: 0.0.0.0:8080 is plain HTTP beyond this machine",
            2,  # wrong on any machine: an error
        ),
        (
            'listen = "0.0.0.0:8443"\ncert_file = "/etc/no-such/web.crt"\n'
            'key_file = "/etc/no-such/web.key"\n',
            "warning: web.cert_file: /etc/no-such/web.crt does not exist",
            0,  # what this machine lacks (yet): a warning, as for a serial port
        ),
        (
            'broker_username = "web"\nbroker_password_file = "/etc/no-such/web-mqtt"\n',
            "warning: web.broker_password_file: /etc/no-such/web-mqtt does not exist",
            0,
        ),
    ],
)
def test_what_rxedge_web_refuses_check_config_tells(
    tmp_path: Path, web: str, words: str, status: int
) -> None:
    config = gateway_file(tmp_path, f"[web]\n{web}")
    checked = rxedge("check-config", str(config))
    assert checked.returncode == status and words in checked.stderr, checked.stderr
    served = rxedge("web", "--config", str(config))
    problem = words.removeprefix("warning: ")
    assert served.returncode == 2 and problem in served.stderr, served.stderr


def test_a_page_set_up_as_it_can_run_passes(tmp_path: Path) -> None:
    config = gateway_file(tmp_path, '[web]\nlisten = "0.0.0.0:8080"\nallow_insecure = true\n')
    checked = rxedge("check-config", str(config))
    assert checked.returncode == 0 and ": ok:" in checked.stdout, checked.stderr


def test_a_port_beyond_65535_is_a_configuration_error_not_a_crash(tmp_path: Path) -> None:
    config = gateway_file(tmp_path, '[web]\nlisten = "127.0.0.1:99999"\n')
    for command in (["check-config", str(config)], ["web", "--config", str(config)]):
        result = rxedge(*command)
        assert result.returncode == 2, result.stderr
        assert "web.listen: port '99999' is not a port number (1 to 65535" in result.stderr
    good = gateway_file(tmp_path, "")
    overridden = rxedge("web", "--config", str(good), "--listen", "127.0.0.1:99999")
    assert overridden.returncode == 2, overridden.stderr
    assert "cannot listen on 127.0.0.1:99999: port '99999' is not a port" in overridden.stderr


def test_a_wrong_web_listen_is_said_in_words_with_the_page_s_own_example(
    tmp_path: Path,
) -> None:
    checked = rxedge("check-config", str(gateway_file(tmp_path, '[web]\nlisten = "8080"\n')))
    assert checked.returncode == 2
    problem = checked.stderr.split("web.listen: ", 1)[1]
    assert problem.startswith("must be host:port (got '8080')"), checked.stderr
    assert 'e.g. listen = "127.0.0.1:8080"' in problem
    assert "pattern" not in problem and "/metrics" not in problem, problem


def test_the_page_and_metrics_on_one_port_is_an_error_naming_both(tmp_path: Path) -> None:
    config = gateway_file(tmp_path, '[web]\nlisten = "127.0.0.1:9464"\n')
    checked = rxedge("check-config", str(config))
    assert checked.returncode == 2
    assert "web.listen: port 9464 is metrics.listen's too (127.0.0.1:9464)" in checked.stderr


def test_the_page_without_a_ledger_yet_names_the_command_that_creates_it(tmp_path: Path) -> None:
    """Plain `rxedge run` refuses a missing ledger: the page names what creates one."""
    db = tmp_path / "ledger.sqlite"
    config = tmp_path / "gateway.toml"
    config.write_text(f'site = "s1"\ngateway = "g1"\ndatabase = "{db}"\n')
    served = rxedge("web", "--config", str(config))
    assert served.returncode == 2, served.stderr
    assert f"database: no ledger at {db} yet" in served.stderr
    assert "rxedge run --init --config FILE" in served.stderr
    assert "otherwise correct the path" in served.stderr


def test_a_missing_accounts_file_is_a_warning_naming_the_command_that_creates_it(
    tmp_path: Path,
) -> None:
    """The page starts without it, but nobody can log in: check-config says so, with the
    command; once an account is added, nothing is said."""
    users = tmp_path / "web-users.json"
    config = gateway_file(tmp_path, f'[web]\nusers_file = "{users}"\n')
    checked = rxedge("check-config", str(config))
    assert checked.returncode == 0, checked.stderr
    assert (
        f"warning: web.users_file: {users} does not exist: nobody can log in to the page until "
        "an account is added; adding the first creates it: rxedge web add-user USER --name "
        "'FULL NAME' --config FILE"
    ) in checked.stderr
    users.mkdir()
    checked = rxedge("check-config", str(config))
    assert f"warning: web.users_file: {users} is not a file" in checked.stderr
    users.rmdir()
    added = subprocess.run(
        [*RXEDGE, "web", "add-user", "ana", "--name", "Ana Ruiz", "--config", str(config)],
        cwd=ROOT,
        input="correct horse battery\ncorrect horse battery\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    checked = rxedge("check-config", str(config))
    assert checked.returncode == 0 and "users_file" not in checked.stderr, checked.stderr
