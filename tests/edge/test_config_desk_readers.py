"""A scanner's `badge_reader` (the badge reader at its desk) must name a reader the badge
service watches; `rxedge check-config` names the key and the fix otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edge.cli.main import main
from edge.settings.config import ConfigError, parse_config

READER = "ACS ACR122U PICC Interface 01 00"


def config(badges: dict[str, Any], **scanner: Any) -> dict[str, Any]:
    desk = {"name": "goods-in", "port": "/dev/ttyACM1", "role": "receiving", "receive_to": "A-04"}
    return {
        "site": "s1",
        "gateway": "g1",
        "scanners": [desk | scanner],
        "badges": badges,
        "shelves": [{"name": "A", "host": "10.0.0.20", "slots": 4}],
    }


def test_a_scanner_names_the_badge_reader_at_its_desk() -> None:
    for badges in ({"enabled": True}, {"enabled": True, "reader": "ACR122U"}):
        parsed = parse_config(config(badges, badge_reader=READER))
        assert parsed.scanners[0].badge_reader == READER
    assert parse_config(config({})).scanners[0].badge_reader is None, "optional"


@pytest.mark.parametrize(
    ("badges", "scanner", "problem"),
    [
        (
            {},
            {"badge_reader": READER},
            "scanners[0].badge_reader: no badge reader is watched ([badges] enabled is false); "
            "set enabled = true in [badges], or remove badge_reader",
        ),
        (
            {"enabled": True, "reader": "Identiv"},
            {"badge_reader": READER},
            f"scanners[0].badge_reader: {READER!r} is not a reader the badge service watches: "
            "[badges] reader = 'Identiv' takes only readers whose name contains that text; give "
            "the reader's full PC/SC name (the daemon's log names it as a badge is put on it: "
            "'Ana badged in on ...'), or change [badges] reader",
        ),
        (
            {"enabled": True},
            {"badge_reader": READER, "role": "picking"},
            "scanners[0].badge_reader: a picking scanner's picks are credited to the pick "
            "list's picker, not to a badge; badge_reader is for role = "
            '"receiving" or "putaway": remove it',
        ),
        (
            {"enabled": True},
            {"badge_reader": ""},
            "scanners[0].badge_reader: String should have at least 1 character (got '')\n"
            '    e.g. badge_reader = "ACS ACR122U PICC Interface 00 00"  (the PC/SC name of the '
            "badge reader at the scanner's desk, as the log names it when a badge is put on it)",
        ),
    ],
)
def test_a_badge_reader_that_can_name_nobody_is_refused_with_the_fix(
    badges: dict[str, Any], scanner: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(config(badges, **scanner))
    assert caught.value.problems == [problem]


def test_check_config_names_the_key_and_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(
        'site = "s1"\ngateway = "g1"\n'
        "[[scanners]]\n"
        'name = "goods-in"\nport = "/dev/ttyACM1"\nrole = "putaway"\nreceive_to = "A-04"\n'
        f'badge_reader = "{READER}"\n'
        '[badges]\nenabled = true\nreader = "Identiv"\n'
        '[[shelves]]\nname = "A"\nhost = "10.0.0.20"\nslots = 4\n'
    )
    assert main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"scanners[0].badge_reader: {READER!r} is not a reader the badge service watches" in err
