"""Mistakes made in the TOML file itself, as `rxedge check-config` (and the daemon) meet them:
each names its key and says what to write instead. A relative path is refused, since the
service (started in /) and a command typed elsewhere would read two different files; a key
that landed in the wrong table, and a table written as a list of tables or the other way
round, are said in TOML's own terms; an entry given twice names both entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.cli.main import main
from tests.broker_pki import BrokerPki, make_pki

HEAD = 'site = "s1"\ngateway = "g1"\n'
SHELF = '[[shelves]]\nname = "A"\nhost = "10.0.0.20"\nslots = 4\n'
PRODUCT = '[[products]]\ngtin = "{gtin}"\nname = "{name}"\nreorder_point = 1\npar = 3\n'


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> BrokerPki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def configured(tmp_path: Path, text: str) -> Path:
    """A file with a ledger in place, so that only what `text` says is judged."""
    ledger = tmp_path / "ledger.sqlite"
    ledger.touch()
    path = tmp_path / "gateway.toml"
    path.write_text(HEAD + f'database = "{ledger}"\n[metrics]\nlisten = ""\n' + text)
    return path


def checked(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """check-config's exit status and the problems it printed, one item each (example lines
    joined to their problem)."""
    code = main(["check-config", str(path)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    problems: list[str] = []
    for line in err.splitlines()[1:]:
        if line.startswith("    e.g. ") and problems:
            problems[-1] += "\n" + line.strip()
        else:
            problems.append(line.strip())
    return code, problems


def test_a_relative_path_is_refused_even_where_it_would_be_found_naming_the_full_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Checked in the folder that holds the files, a relative path would be found; the service
    starts in / and would not find it, and then stays failed (exit 2 is not retried)."""
    (tmp_path / "mqtt-password").write_text("secret\n")
    (tmp_path / "mqtt-password").chmod(0o600)
    monkeypatch.chdir(tmp_path)
    config = configured(
        tmp_path,
        '[broker]\nurl = "mqtt://127.0.0.1:1883"\nusername = "s1/g1"\n'
        'password_file = "mqtt-password"\n'
        '[web]\nbroker_username = "web"\nbroker_password_file = "./mqtt-password"\n',
    )
    code, problems = checked(config, capsys)
    assert code == 2, problems
    password, web_password = problems
    assert password.startswith(
        "broker.password_file: give the full path, e.g. /etc/rxedge/mqtt-password: a relative "
        "path names one file for the service (which starts in /) and another for a command"
    )
    assert 'e.g. password_file = "/etc/rxedge/mqtt-password"' in password
    assert web_password.startswith(
        "web.broker_password_file: give the full path, e.g. /etc/rxedge/mqtt-password"
    )
    assert main(["run", "--config", str(config)]) == 2
    assert "broker.password_file: give the full path" in capsys.readouterr().err


def test_relative_tls_files_are_refused_for_the_broker_and_the_page(
    tmp_path: Path,
    pki: BrokerPki,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, source in (("ca.pem", pki.ca.ca_file), ("gw.crt", pki.gateway_a.cert_file)):
        (tmp_path / name).write_bytes(source.read_bytes())
    (tmp_path / "gw.key").write_bytes(pki.gateway_a.key_file.read_bytes())
    (tmp_path / "gw.key").chmod(0o600)
    monkeypatch.chdir(tmp_path)
    config = configured(
        tmp_path,
        '[broker]\nurl = "mqtts://broker.example.net:8883"\nca_file = "ca.pem"\n'
        'cert_file = "gw.crt"\nkey_file = "gw.key"\n'
        '[web]\ncert_file = "gw.crt"\nkey_file = "gw.key"\n',
    )
    code, problems = checked(config, capsys)
    assert code == 2
    keys = [problem.partition(":")[0] for problem in problems]
    assert keys == [
        "broker.ca_file",
        "broker.cert_file",
        "broker.key_file",
        "web.cert_file",
        "web.key_file",
    ]
    assert all("give the full path, e.g. /etc/rxedge/" in problem for problem in problems)
    # A key file root keeps to itself (0600) is one the service cannot read: the example says
    # who must be able to read it.
    assert "chown rxedge and chmod 600, or root:rxedge and chmod 640" in problems[2]
    assert 'key_file = "/etc/rxedge/web.key"' in problems[4]


def test_a_top_level_key_written_after_a_table_is_said_to_belong_above_the_first_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = configured(tmp_path, SHELF + PRODUCT.format(gtin="04012345123456", name="x"))
    config.write_text(config.read_text() + "create_database = true\n")
    code, problems = checked(config, capsys)
    assert code == 2
    assert problems == [
        "products[0].create_database: is not a key of [[products]]; create_database is a "
        "top-level key: write it above the first [table] line of the file (every key after a "
        "[table] line belongs to that table)"
    ]


def test_a_key_of_another_table_is_said_to_belong_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = configured(tmp_path, '[web]\nlisten = "127.0.0.1:8080"\nurl = "mqtt://127.0.0.1"\n')
    code, problems = checked(config, capsys)
    assert code == 2
    assert problems == ["web.url: is not a key of [web]; url is a key of [broker]: move it there"]


@pytest.mark.parametrize(
    ("table", "entry"),
    [
        ('[readers]\nname = "r1"\nport = "/dev/ttyUSB0"\n', "reader"),
        ('[scanners]\nname = "s1"\nport = "/dev/ttyACM0"\n', "scanner"),
        ('[shelves]\nname = "A"\nhost = "10.0.0.20"\n', "shelf controller"),
        (
            '[products]\ngtin = "04012345123456"\nname = "x"\nreorder_point = 1\npar = 3\n',
            "product",
        ),
    ],
    ids=["readers", "scanners", "shelves", "products"],
)
def test_one_table_for_a_list_of_them_says_to_write_double_brackets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], table: str, entry: str
) -> None:
    name = table[1 : table.index("]")]
    code, problems = checked(configured(tmp_path, table), capsys)
    assert code == 2
    assert problems == [
        f"{name}: is one table [{name}] in the file, but {name} is a list of them: write "
        f"[[{name}]] (one per {entry}) above each {entry}'s keys"
    ]


def test_a_list_of_tables_for_one_table_says_to_write_single_brackets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, problems = checked(configured(tmp_path, '[[broker]]\nurl = "mqtt://127.0.0.1"\n'), capsys)
    assert code == 2
    assert problems == [
        "broker: is a list of tables [[broker]] in the file, but broker is one table: write "
        "[broker]"
    ]


def test_an_rtu_shelf_given_its_device_as_port_is_pointed_to_serial_port(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shelf = '[[shelves]]\nname = "A"\ntransport = "rtu"\nport = "/dev/ttyUSB1"\n'
    code, problems = checked(configured(tmp_path, shelf), capsys)
    assert code == 2
    (problem,) = problems
    assert problem.startswith("shelves[0].port: ") and "(got '/dev/ttyUSB1')" in problem
    assert "an rtu shelf's serial device goes in serial_port" in problem
    assert "(reader)" not in problem


def test_a_product_given_twice_names_both_entries_whatever_digits_its_gtin_has(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    products = PRODUCT.format(gtin="04012345123456", name="Amoxicillin 500") + PRODUCT.format(
        gtin="4012345123456", name="Amoxicillin 500 mg"
    )
    code, problems = checked(configured(tmp_path, SHELF + products), capsys)
    assert code == 2
    assert problems == [
        "products[1].gtin: 04012345123456 is already products[0]'s gtin; one GTIN is one "
        "product, however many digits it is written with (8, 12, 13 or 14: leading zeros do "
        "not count); give each product one entry"
    ]


def test_a_badge_given_to_two_pharmacists_names_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    people = (
        '[[pharmacists]]\nname = "Ana"\nbadge = "04a1b2c3"\n'
        '[[pharmacists]]\nname = "Ben"\nbadge = "04A1B2C3"\n'
    )
    code, problems = checked(configured(tmp_path, people), capsys)
    assert code == 2
    assert problems == [
        "pharmacists[1].badge: 04A1B2C3 is already pharmacists[0]'s badge; a badge names one "
        "pharmacist; give each pharmacist their own"
    ]
