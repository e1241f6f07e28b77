"""`rxedge check-config` finds what the run would choke on, without a traceback: a directory as
the ledger, a file that cannot be read or is not UTF-8, integers SQLite cannot hold, listen
addresses no socket can bind. What only this machine lacks (a serial port, the ledger's folder)
is a warning, since the file may be meant for another box. And the daemon never starts a new,
empty ledger unless told to."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sqlite3
import tomllib
from pathlib import Path
from unittest.mock import ANY

import pytest

from edge.cli.main import main
from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker
from edge.settings.config import ConfigError, parse_config
from edge.settings.host_checks import check_host, with_usable_ledger
from inventory.errors import StoreError
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from tests.command_line import rxedge
from tests.conftest import eventually

HEAD = 'site = "s1"\ngateway = "g1"\n'


def check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["check-config", str(path)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "gateway.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_a_directory_as_the_ledger_is_an_error_for_check_and_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path, HEAD + f'database = "{tmp_path}"\n')
    code, _, err = check(config, capsys)
    assert code == 2
    assert f"database: {tmp_path} is a directory" in err and "ledger.sqlite" in err
    assert main(["run", "--init", "--config", str(config)]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_a_file_that_is_not_utf8_is_named_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = check(write(tmp_path, b'site = "Farm\xe1cia"\n'), capsys)
    assert code == 2
    assert "is not UTF-8 text (byte 0xe1 at offset 12); save it as UTF-8" in err


def test_a_directory_or_unreadable_file_is_named_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = check(tmp_path, capsys)
    assert code == 2 and "is a directory; give the TOML file in it" in err
    with socket.socket(socket.AF_UNIX) as sock:  # a path open() cannot read
        sock.bind(str(tmp_path / "gateway.sock"))
        code, _, err = check(tmp_path / "gateway.sock", capsys)
    assert code == 2 and "cannot be read: No such device or address" in err
    if os.geteuid() != 0:  # root reads any file
        config = write(tmp_path, HEAD)
        config.chmod(0)
        code, _, err = check(config, capsys)
        assert code == 2 and "(permission denied)" in err and f"chmod 0640 {config}" in err


def test_what_this_machine_lacks_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(
        tmp_path,
        HEAD + f'database = "{tmp_path}/no/such/folder/ledger.sqlite"\n'
        '[[readers]]\nname = "r1"\nport = "/dev/ttyNOSUCH7"\n'
        '[[readers]]\nname = "r2"\nport = "socket://10.0.0.5:4001"\n'
        '[[scanners]]\nname = "s1"\nport = "/dev/ttyACM9"\n',
    )
    code, out, err = check(config, capsys)
    assert code == 0 and ": ok:" in out and "4 warning(s)" in out
    lines = err.splitlines()
    assert all(line.startswith("warning: ") for line in lines)
    assert any(f"folder {tmp_path}/no/such/folder does not exist" in line for line in lines)
    assert any("readers[0].port: serial port /dev/ttyNOSUCH7 does not exist" in x for x in lines)
    assert any("scanners[0].port: serial port /dev/ttyACM9" in line for line in lines)
    assert any("scanners[0].port: /dev/ttyACM9 is numbered in the order" in x for x in lines)
    # A real error beside the warnings still fails.
    config.write_text(config.read_text().replace("no/such/folder/ledger.sqlite", ""))
    code, _, err = check(config, capsys)
    assert code == 2 and "is a directory" in err and "warning: readers[0].port" in err
    config.write_text(config.read_text() + "[devices]\ndown_alarm_seconds = -1\n")
    code, _, err = check(config, capsys)
    assert code == 2 and "devices.down_alarm_seconds: " in err


def test_a_serial_port_named_by_its_number_is_a_warning_naming_the_adapters_own_name(
    tmp_path: Path,
) -> None:
    """ttyUSB0 and ttyACM0 are numbered as the adapters are found: after a replug, or a reboot
    finding them in another order, a reader's port may be the scanner's. udev's names in
    /dev/serial/by-id stay with the adapter (a folder of the test's own stands in for it)."""
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    ftdi = by_id / "usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0"
    ftdi.symlink_to("/dev/ttyUSB3")
    ch340 = by_id / "usb-1a86_USB_Serial-if00-port0"
    ch340.symlink_to("/dev/ttyUSB4")
    config = parse_config(
        {
            "site": "s1",
            "gateway": "g1",
            "readers": [
                {"name": "r1", "port": "/dev/ttyUSB3"},
                {"name": "r2", "port": str(ch340)},
                {"name": "r3", "port": "socket://10.0.0.5:4001"},
                {"name": "r4", "port": "/dev/ttyS0"},
            ],
            "scanners": [{"name": "s1", "port": "/dev/ttyACM0"}],
        }
    )
    found = check_host(config, by_id)
    renumbered = [w for w in found.warnings if "is numbered in the order" in w]
    assert [w.split(":")[0] for w in renumbered] == ["readers[0].port", "scanners[0].port"]
    assert renumbered[0].endswith(f'Name the adapter instead: "{ftdi}"'), renumbered[0]
    assert "a replug or a reboot can change" in renumbered[0]
    assert f"its name in {by_id} (ls -l {by_id} shows which is which)" in renumbered[1]
    assert not found.errors


def test_a_serial_port_not_given_by_its_full_path_is_an_error_with_the_path_to_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The service starts in /: ttyUSB0 would be /ttyUSB0 there, on any machine."""
    config = write(
        tmp_path,
        HEAD + f'database = "{tmp_path}/ledger.sqlite"\n'
        '[[readers]]\nname = "r1"\nport = "ttyUSB0"\n'
        '[[scanners]]\nname = "s1"\nport = "COM3"\n'
        '[[shelves]]\nname = "A"\ntransport = "rtu"\nserial_port = "serial/by-id/usb-x"\n',
    )
    code, _, err = check(config, capsys)
    assert code == 2, err
    assert "has 3 problem(s)" in err, err
    assert (
        "readers[0].port: ttyUSB0 is not a full path (the service starts in /); did you mean "
        '"/dev/ttyUSB0"?'
    ) in err
    assert (
        "scanners[0].port: COM3 is a Windows port name; here a serial port is a path under "
        '/dev, e.g. "/dev/ttyUSB0"'
    ) in err
    assert "shelves[0].serial_port: serial/by-id/usb-x is not a full path" in err
    assert 'did you mean "/dev/serial/by-id/usb-x"?' in err
    assert "does not exist on this machine" not in err, "said once, as the error"


def test_names_with_a_dot_are_a_warning_when_the_broker_speaks_mqtt_3_1_1(tmp_path: Path) -> None:
    """A NATS centre (MQTT 3.1.1 only) drops the link of a client that publishes to a topic
    with a dot; site, gateway and shelf names are topic levels. With MQTT 5 (not NATS) the
    same names are fine."""
    settings: dict[str, object] = {
        "site": "berlin.mitte",
        "gateway": "g1",
        "shelves": [{"name": "A.1", "host": "127.0.0.1", "slots": 4}],
    }
    nats = check_host(parse_config({**settings, "broker": {"protocol": "3.1.1"}}), tmp_path)
    dotted = [w for w in nats.warnings if "holds a dot" in w]
    assert [w.split(":")[0] for w in dotted] == ["site", "shelves[0].name"]
    assert "'berlin-mitte'" in dotted[0] and "NATS" in dotted[0]
    assert not [w for w in check_host(parse_config(settings), tmp_path).warnings if "dot" in w]


def test_a_missing_ledger_in_an_existing_folder_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path, HEAD + f'database = "{tmp_path}/ledger.sqlite"\n')
    code, _, err = check(config, capsys)
    assert code == 0 and err.startswith("warning: database: no ledger at") and "--init" in err


def test_create_database_left_on_is_a_warning_and_a_new_ledger_is_said_plainly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ledger.sqlite").touch()
    config = write(tmp_path, HEAD + f'database = "{tmp_path}/ledger.sqlite"\n')
    assert check(config, capsys) == (0, ANY, "")
    config.write_text(config.read_text() + "create_database = true\n")
    code, _, err = check(config, capsys)
    assert code == 0
    assert err == (
        f"warning: create_database: a ledger exists at {tmp_path}/ledger.sqlite; remove "
        "create_database: left on, a mistyped database path would start a new, empty ledger "
        "instead of being refused\n"
    )
    for typo in (tmp_path / "ledgr.sqlite", tmp_path / "lib" / "ledger.sqlite"):
        config.write_text(config.read_text().replace(f"{tmp_path}/ledger.sqlite", str(typo)))
        code, _, err = check(config, capsys)
        assert code == 0
        assert (
            err.startswith(
                f"warning: create_database: no ledger at {typo}: the daemon will start a new, "
                "empty ledger there"
            )
            and "correct database" in err
        )
        config.write_text(config.read_text().replace(str(typo), f"{tmp_path}/ledger.sqlite"))


def test_the_daemon_says_in_its_journal_when_it_starts_a_new_ledger(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "ledger.sqlite").touch()
    typo = tmp_path / "ledgr.sqlite"
    data = {"site": "s", "gateway": "g", "database": str(typo), "create_database": True}
    with caplog.at_level(logging.INFO, logger="edge.settings.host_checks"):
        with_usable_ledger(parse_config(data))
    assert f"no ledger at {typo}: starting a new, empty ledger there" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="edge.settings.host_checks"):
        with_usable_ledger(parse_config({**data, "database": f"{tmp_path}/ledger.sqlite"}))
    assert caplog.text == ""


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        (
            '[[products]]\ngtin = "04012345123456"\nname = "x"\nreorder_point = 1\n'
            "par = 9223372036854775808\n",
            "products[0].par",
        ),
        ("[alarms]\nbacklog_messages = 99999999999999999999\n", "alarms.backlog_messages"),
        ("[alarms]\nnear_expiry_days = -9223372036854775809\n", "alarms.near_expiry_days"),
    ],
)
def test_integers_beyond_64_bits_are_refused_wherever_they_are(toml: str, key: str) -> None:
    data: dict[str, object] = tomllib.loads(HEAD + toml)
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    problem = caught.value.problems[0]
    assert problem.startswith(f"{key}: ") and "does not fit a 64-bit integer" in problem
    assert len([p for p in caught.value.problems if p.startswith(f"{key}:")]) == 1


@pytest.mark.parametrize(
    ("listen", "words"),
    [
        ("999.1.1.1:99999", "999.1.1.1 is not an IPv4 address"),
        ("127.0.0.1:99999", "port '99999' is not a port number"),
        ("127.0.0.1:http", "port 'http' is not a port number"),
        ("::1:9464", "needs brackets"),
        ("[::g]:9464", "[::g] is not an IPv6 address"),
        ("bad host:9464", "'bad host' is not a host name or address"),
        ("9464", "must be host:port"),
    ],
)
def test_bad_listen_addresses_are_refused(listen: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"site": "s", "gateway": "g", "metrics": {"listen": listen}})
    (problem,) = caught.value.problems
    assert problem.startswith("metrics.listen: ") and words in problem


@pytest.mark.parametrize("listen", ["", "127.0.0.1:9464", "[::1]:9464", "localhost:0", "0.0.0.0:1"])
def test_good_listen_addresses_are_taken(listen: str) -> None:
    assert parse_config({"site": "s", "gateway": "g", "metrics": {"listen": listen}})


def test_a_broker_host_that_cannot_be_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"broker\.url: .*'bad_host!' is not a host name"):
        parse_config({"site": "s", "gateway": "g", "broker": {"url": "mqtt://bad_host!:1883"}})


def test_an_address_this_machine_does_not_have_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "ledger.sqlite"
    db.touch()
    config = write(tmp_path, HEAD + f'database = "{db}"\n[metrics]\nlisten = "192.0.2.7:9464"\n')
    code, _, err = check(config, capsys)
    assert code == 0
    assert err.startswith("warning: metrics.listen: this machine cannot listen on 192.0.2.7")


def test_the_daemon_refuses_a_missing_ledger_unless_told_to_create_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "typo" / "ledger.sqlite"
    config = write(tmp_path, HEAD + f'database = "{db}"\n')
    assert main(["run", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert f"no ledger at {db}" in err and "rxedge run --init" in err
    assert not db.parent.exists(), "nothing was created"
    gateway = Gateway(parse_config({"site": "s", "gateway": "g", "database": str(db)}))
    with pytest.raises(StoreError, match="create_database = true"):
        asyncio.run(gateway.run())
    assert not db.parent.exists()


def test_the_json_verdict_carries_the_warnings_and_the_errors_about_this_machine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path, HEAD + '[[readers]]\nname = "r1"\nport = "/dev/ttyNOSUCH7"\n')
    config.write_text(config.read_text().replace(HEAD, HEAD + f'database = "{tmp_path}/l.db"\n'))
    assert main(["check-config", str(config), "--json"]) == 0
    out, err = capsys.readouterr()
    verdict = json.loads(out)
    assert verdict["ok"] is True and err == ""
    assert [w.split(":")[0] for w in verdict["warnings"]] == ["database", "readers[0].port"]
    config.write_text(config.read_text().replace(f"{tmp_path}/l.db", str(tmp_path)))
    assert main(["check-config", str(config), "--json"]) == 2
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["ok"] is False and "is a directory" in verdict["problems"][0]
    assert verdict["warnings"] == [f"readers[0].port: serial port /dev/ttyNOSUCH7 {MISSING}"]


MISSING = "does not exist on this machine"


def test_a_replacement_box_is_told_to_restore_the_gateway_it_replaces_not_to_start_anew(
    tmp_path: Path,
) -> None:
    """A new box set up with the old one's configuration: before its ledger is restored, the
    check and the daemon's refusal name the restore beside `--init`; after, neither warns."""
    db = tmp_path / "lib" / "ledger.sqlite"
    config = write(tmp_path, HEAD + f'database = "{db}"\n')
    for folder_there in (False, True):
        if folder_there:
            db.parent.mkdir()
        checked = rxedge("check-config", str(config))
        assert checked.returncode == 0, checked.stderr
        (warning,) = checked.stderr.splitlines()
        assert warning.startswith("warning: database: ") and "rxedge run --init" in warning
        assert warning.endswith(
            "; if this box replaces another gateway, restore that gateway's latest backup there "
            "instead (docs/install.md, section 12, A replacement box)"
        )
    refused = rxedge("run", "--config", str(config))
    assert refused.returncode == 2 and "restore that gateway's latest backup" in refused.stderr
    backup = tmp_path / "backup.sqlite"
    keeper = InventoryKeeper(backup, {}, "s1", "g1")
    keeper.commit([Movement(MovementKind.RECEIVE, "04012345123456", 2, to_slot="A-01")])
    keeper.close()
    with sqlite3.connect(backup) as source, sqlite3.connect(db) as restored:
        source.backup(restored)  # what `sqlite3 ... .backup` and section 11's install give
    assert "database:" not in rxedge("check-config", str(config)).stderr
    verified = rxedge("ledger", "verify", "--db", str(db))
    assert verified.stdout.startswith("ledger ok: 1 movements chained")


async def test_a_metrics_port_another_program_holds_is_a_warning_but_not_the_daemons_own(
    tmp_path: Path, broker: LocalBroker, capsys: pytest.CaptureFixture[str]
) -> None:
    """Else the daemon runs without its endpoint, and `rxedge status` cannot read it; checked on
    a running box, the port is the daemon's own."""
    db = tmp_path / "ledger.sqlite"
    db.touch()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        metrics = f'[metrics]\nlisten = "127.0.0.1:{port}"\n'
        config = write(tmp_path, HEAD + f'database = "{db}"\n' + metrics)
        code, out, err = await asyncio.to_thread(check, config, capsys)
    assert code == 0 and "1 warning(s)" in out, err
    assert err.startswith(f"warning: metrics.listen: 127.0.0.1:{port} is taken on this machine")
    assert "`rxedge status` could not read it" in err and f"sport = :{port}" in err
    settings = {**tomllib.loads(config.read_text()), "broker": {"url": broker.url}}
    gateway = Gateway(parse_config(settings), observer=lambda _activity: None)
    task = asyncio.create_task(gateway.run())
    try:
        await eventually(lambda: gateway.metrics.url, what="the daemon's endpoint")
        code, out, err = await asyncio.to_thread(check, config, capsys)
        assert code == 0 and "warning" not in out and "metrics.listen" not in err, err
    finally:
        gateway.stop()
        await asyncio.wait_for(task, 10)
