"""Configuration: the example is valid, and every mistake names its key and shows a fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from drivers.modbus.rtu_line import RtuClient
from edge.clock import Clock
from edge.daemon.devices import build_devices
from edge.settings.config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "gateway.example.toml"

MINIMAL = {
    "site": "s1",
    "gateway": "g1",
    "shelves": [{"name": "A", "host": "10.0.0.20", "slots": 4}],
}


def problems_of(data: dict[str, object]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    return caught.value.problems


def test_the_example_config_is_valid() -> None:
    config = load_config(EXAMPLE)
    assert config.readers[0].antennas[1] == "A-01"
    assert config.client_id == "rxedge-pharmacy-0042-gw-1"


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        ({"site": "my pharmacy"}, "site", "letters, digits"),
        ({"databse": "/x"}, "databse", "did you mean 'database'"),
        ({"broker": {"url": "http://x"}}, "broker.url", "mqtt://"),
        (
            {"readers": [{"name": "r", "port": "/dev/ttyUSB0", "baudrate": 1152}]},
            "readers[0].baudrate",
            "115200",
        ),
        (
            {"readers": [{"name": "r", "port": "/dev/ttyUSB0", "antennas": {"1": "B-07"}}]},
            "readers[0].antennas.1",
            "known slots: A-01",
        ),
        ({"shelves": [{"name": "A", "slots": 4}]}, "shelves[0]", "needs host"),
        (
            {"products": [{"gtin": "04012345123457", "name": "x", "reorder_point": 1, "par": 3}]},
            "products[0].gtin",
            "its last digit should be 6",
        ),
        (
            {"products": [{"gtin": "401234512345", "name": "x", "reorder_point": 1, "par": 3}]},
            "products[0].gtin",
            "wrong check digit",
        ),
        (
            {"products": [{"gtin": "40123451234", "name": "x", "reorder_point": 1, "par": 3}]},
            "products[0].gtin",
            "8, 12, 13 or 14 digits",
        ),
        (
            {"products": [{"gtin": "04012345123456", "name": "x", "reorder_point": 5, "par": 3}]},
            "products[0]",
            "par (3) must be above reorder_point (5)",
        ),
        (  # its refused packs light the station: without one, nothing shows at the desk
            {"scanners": [{"name": "goods-in", "port": "/dev/ttyACM1", "role": "putaway"}]},
            "scanners[0]",
            "a putaway scanner needs receive_to, the station's slot that turns red when a pack "
            'is refused, e.g. receive_to = "A-01"',  # a slot of the file's own
        ),
        ({"shelf": [{"name": "B", "host": "h"}]}, "shelf", "did you mean 'shelves'?"),
        ({"brokers": {"url": "mqtt://127.0.0.1"}}, "brokers", "did you mean 'broker'?"),
        ({"metric": {"listen": ""}}, "metric", "did you mean 'metrics'?"),
        ({"web": {"session_minute": 60}}, "web.session_minute", "did you mean 'session_minutes'?"),
        (
            {"readers": [{"name": "r", "port": "/dev/ttyUSB0", "antenas": {}}]},
            "readers[0].antenas",
            "did you mean 'antennas'?",
        ),
        ({"gateway": None}, "gateway", ""),
        ({"database": "ledger.sqlite"}, "database", "full path, e.g. /var/lib/rxedge/ledger"),
        ({"web": {"users_file": "users.json"}}, "web.users_file", "full path"),
        ({"timezone": "Asia/Shangai"}, "timezone", "did you mean 'Asia/Shanghai'"),
        ({"timezone": "UTC+8"}, "timezone", "not an IANA time zone name"),
        (
            {"shelves": [{"name": "A", "host": "h", "gln": "4012345000017"}]},
            "shelves[0].gln",
            "check digit (expected 6)",
        ),
        (
            {
                "readers": [{"name": "hh", "port": "/dev/ttyUSB0", "role": "handheld"}],
                "shelves": [{"name": "A", "host": "h"}],
            },
            "shelves[0].gln",
            "takes part in stocktakes",
        ),
        (  # a device's status and alarm go by its name: two devices cannot share one
            {"readers": [{"name": "A", "port": "/dev/ttyUSB0"}]},
            "shelves[0].name",
            "'A' is already the name of readers[0]",
        ),
        (
            {"scanners": [{"name": "r1", "port": "/dev/ttyACM0"}, {"name": "r1", "port": "x"}]},
            "scanners[1].name",
            "'r1' is already the name of scanners[0]",
        ),
        (
            {"scanners": [{"name": "pcsc", "port": "/dev/ttyACM0"}], "badges": {"enabled": True}},
            "scanners[0].name",
            "the badge service's name",
        ),
        (
            {"shelves": [{"name": "A", "transport": "rtu", "serial_port": "/x", "parity": "M"}]},
            "shelves[0].parity",
            "'N', 'E' or 'O' (got 'M')\n    e.g. parity = \"E\"",
        ),
        (
            {"readers": [{"name": "r", "port": "/dev/ttyUSB0", "stopbits": 1.5}]},
            "readers[0].stopbits",
            "1 or 2",
        ),
        (
            {"shelves": [{"name": "A", "host": "10.0.0.20", "parity": "E", "stopbits": 2}]},
            "shelves[0]",
            "parity and stopbits apply to rtu shelves only; remove them",
        ),
        (
            {"scanners": [{"name": "desk", "port": "/dev/ttyACM0", "quiet_ms": 5}]},
            "scanners[0].quiet_ms",
            "greater than or equal to 10",
        ),
    ],
)
def test_each_mistake_names_its_key_and_what_is_right(
    change: dict[str, object], key: str, words: str
) -> None:
    data = {**MINIMAL, **change}
    if change.get("gateway", "") is None:
        del data["gateway"]
    problems = problems_of(data)
    assert any(p.startswith(f"{key}:") and words in p for p in problems), problems


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        (
            "10.0.0.20/24",
            'write the screen\'s address alone ("10.0.0.20") or the network it is in '
            '("10.0.0.0/24")',
        ),
        (
            "tablet.local",
            "'tablet.local' is not an IP address or network: give each screen's "
            "address (a name is not taken)",
        ),
    ],
)
def test_a_wrong_badge_screen_address_is_one_clear_line_with_an_example(
    entry: str, words: str
) -> None:
    (problem,) = problems_of({**MINIMAL, "web": {"badge_login_from": ["127.0.0.1", entry]}})
    said, example = problem.split("\n")
    assert said.startswith("web.badge_login_from: ") and words in said, said
    assert example.strip().startswith('e.g. badge_login_from = ["127.0.0.1", "::1", "10.0.0.20"]')
    screens = {**MINIMAL, "web": {"badge_login_from": ["10.0.0.20", "10.0.1.0/24", "::1"]}}
    taken = parse_config(screens).web.badge_login_from
    assert [str(n) for n in taken] == ["10.0.0.20/32", "10.0.1.0/24", "::1/128"]


def test_the_site_calendar_and_the_serial_policy_have_their_defaults() -> None:
    config = parse_config(
        {
            **MINIMAL,
            "products": [{"gtin": "04012345123456", "name": "x", "reorder_point": 1, "par": 3}],
        }
    )
    assert config.timezone == "" and config.products[0].require_serial is True
    example = load_config(EXAMPLE)
    assert example.timezone == "Europe/Berlin"
    assert [p.require_serial for p in example.products] == [True, False]


def test_a_product_gtin_of_13_digits_is_kept_as_its_gtin14() -> None:
    product = {"gtin": "4012345123456", "name": "x", "reorder_point": 1, "par": 3}
    config = parse_config({**MINIMAL, "products": [product]})
    assert config.products[0].gtin == "04012345123456"


def test_missing_key_is_reported_with_an_example() -> None:
    (problem,) = problems_of({"site": "s1"})
    assert problem.startswith("gateway: is required")
    assert 'e.g. gateway = "gw-1"' in problem


def test_check_config_command_reports_and_exits_non_zero(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('site = "s1"\ngateway = "g1"\n[broker]\nurl = "tcp://x"\n')
    result = subprocess.run(
        [sys.executable, "-m", "edge.cli.main", "check-config", str(bad)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 2
    assert "broker.url:" in result.stderr and "mqtt://" in result.stderr
    good = subprocess.run(
        [sys.executable, "-m", "edge.cli.main", "check-config", str(EXAMPLE)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert good.returncode == 0 and "ok" in good.stdout


def test_not_toml_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("site = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_a_file_saved_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    marked = tmp_path / "gateway.toml"
    marked.write_bytes(b'\xef\xbb\xbfsite = "s1"\ngateway = "g1"\n')
    assert load_config(marked).site == "s1"


async def test_the_line_framing_set_in_the_file_reaches_each_driver() -> None:
    config = parse_config(
        {
            "site": "s1",
            "gateway": "g1",
            "readers": [{"name": "r", "port": "/dev/ttyUSB0", "parity": "even"}],
            "scanners": [{"name": "desk", "port": "/dev/ttyACM0", "stopbits": 2}],
            "shelves": [
                {"name": "A", "transport": "rtu", "serial_port": "/dev/ttyUSB1", "parity": "O"}
            ],
        }
    )
    devices = build_devices(config, lambda _event: None, Clock())
    assert devices.readers[0].port.settings == "115200 8E1"
    assert devices.scanners[0].port.settings == "9600 8N2"
    client = devices.buses[0]._client  # the bus's own port
    assert isinstance(client, RtuClient) and client.settings == "19200 8O1"


@pytest.mark.parametrize(
    ("host", "words"),
    [
        (  # dialled as tcp://10.0.0.20:502:502
            "10.0.0.20:502",
            "'10.0.0.20:502' holds a port; host is the address alone (port is a key of its own):"
            ' write host = "10.0.0.20" and port = 502',
        ),
        (
            "tcp://10.0.0.20",
            "'tcp://10.0.0.20' is a URL (tcp://); host is the address alone (port is a key of "
            'its own): write host = "10.0.0.20"',
        ),
        ("modbus://10.0.0.20:1502/", 'write host = "10.0.0.20" and port = 1502'),
        ("10.0.0.256", "10.0.0.256 is not an IPv4 address (four numbers 0-255)"),
        ("[fe80::1]", 'is in brackets; host is the address alone: write host = "fe80::1"'),
        ("shelf a", "'shelf a' is not a host name or address"),
    ],
)
def test_a_shelf_host_is_the_address_alone(host: str, words: str) -> None:
    (problem,) = problems_of({**MINIMAL, "shelves": [{"name": "A", "host": host}]})
    assert problem.startswith("shelves[0].host: ") and words in problem, problem
    for good in ("10.0.0.20", "fe80::1", "shelf-a.pharmacy.lan"):
        assert parse_config({**MINIMAL, "shelves": [{"name": "A", "host": good}]})


@pytest.mark.parametrize(
    ("port", "words"),
    [
        (  # the daemon: "protocol 'tcp' not known"
            "tcp://10.0.0.5:4001",
            "pyserial opens no tcp:// URLs (here: alt://, cp2110://, hwgrep://, socket://, "
            'spy://); a serial server on the network is reached raw, as "socket://10.0.0.5:4001"',
        ),
        (
            "socket://10.0.0.5",
            "socket://10.0.0.5 needs the serial server's host and its TCP port (1 to 65535), as "
            'socket://HOST:PORT, e.g. "socket://10.0.0.5:4001"',
        ),
        (  # pyserial knows it, but its thread cannot be driven by the daemon's event loop
            "rfc2217://10.0.0.5:4001",
            "rfc2217:// ports are not supported (an RFC 2217 port is driven by a thread of "
            "pyserial's own",
        ),
        ("loop://", 'reached raw, as "socket://HOST:PORT"'),
        ("socket://10.0.0.5:70000", "socket://HOST:PORT"),
        ("socket://10.0.0.256:4001", "10.0.0.256 is not an IPv4 address"),
    ],
)
def test_a_serial_port_url_is_one_pyserial_opens(port: str, words: str) -> None:
    for key, entry in (
        ("readers[0].port", {"readers": [{"name": "r", "port": port}]}),
        ("scanners[0].port", {"scanners": [{"name": "s", "port": port}]}),
        (
            "shelves[0].serial_port",
            {"shelves": [{"name": "A", "transport": "rtu", "serial_port": port}]},
        ),
    ):
        (problem,) = problems_of({**MINIMAL, **entry})
        assert problem.startswith(f"{key}: ") and words in problem, problem
    for good in ("socket://10.0.0.5:4001", "socket://[::1]:4001", "/dev/ttyUSB0", "spy:///dev/x"):
        assert parse_config({**MINIMAL, "readers": [{"name": "r", "port": good}]})


def test_a_wrong_scanner_role_is_shown_the_scanner_roles() -> None:
    (problem,) = problems_of(
        {**MINIMAL, "scanners": [{"name": "s", "port": "/p", "role": "fixed"}]}
    )
    assert problem.startswith("scanners[0].role: ")
    assert problem.endswith('e.g. role = "picking"  (or "receiving", "putaway")'), problem
    (problem,) = problems_of({**MINIMAL, "readers": [{"name": "r", "port": "/p", "role": "desk"}]})
    assert problem.endswith('e.g. role = "fixed"  (or "handheld")'), problem


def test_a_desk_without_receive_to_is_shown_a_slot_of_the_file() -> None:
    desk = {"name": "goods-in", "port": "/dev/ttyACM1", "role": "receiving"}
    shelves = [{"name": "R", "host": "10.0.0.21", "slots": 2}, {"name": "A", "host": "10.0.0.20"}]
    (problem,) = problems_of({**MINIMAL, "shelves": shelves, "scanners": [desk]})
    assert problem == 'scanners[0]: a receiving scanner needs receive_to, e.g. receive_to = "A-01"'
    (problem,) = problems_of({"site": "s", "gateway": "g", "scanners": [desk]})
    assert problem.endswith('e.g. receive_to = "R-01"'), "no shelf yet: the usual name"


def test_a_badge_written_with_colons_is_taken_and_other_forms_are_said_in_words() -> None:
    pharmacist = {"name": "Ana Ruiz", "badge": "04:a1:B2:C3"}
    config = parse_config({**MINIMAL, "pharmacists": [pharmacist]})
    assert config.pharmacists[0].uid == "04A1B2C3"
    (problem,) = problems_of({**MINIMAL, "pharmacists": [{**pharmacist, "badge": "04-A1-B2-C3"}]})
    assert problem.startswith(
        "pharmacists[0].badge: must be the card's UID in hex digits (0-9, A-F), 4 to 10 bytes: "
        "8 to 20 digits, e.g. 04A1B2C3 (got '04-A1-B2-C3')"
    ), problem
    assert "^(" not in problem and "pattern" not in problem
