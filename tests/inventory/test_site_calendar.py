"""The site calendar: expiry judged on the site's local date, in every place that judges it.

A pack whose code says expiry 2026-03-09 is good through the end of 9 March where it is used.
At UTC+8 the UTC date lags the local one until 08:00; at UTC-5 it runs ahead from 19:00: both
are checked against the FEFO allocation, the pick check, the expiry sweep and the days left.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from inventory.alarms.lifecycle import AlarmKind
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind, StockStatus
from inventory.picking.checks import Mistake, check_pack
from inventory.replenishment.policy import Product
from inventory.site_calendar import SiteCalendar, zone_problem
from inventory.stock.expiry import expiry_sweep

GTIN = "04012345123456"
PRODUCT = Product(GTIN, "Amoxicillin 500 mg", 0, 10)
SHANGHAI = ZoneInfo("Asia/Shanghai")  # UTC+8, no DST
BOGOTA = ZoneInfo("America/Bogota")  # UTC-5, no DST


def local(zone: ZoneInfo, text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


@pytest.mark.parametrize(
    ("zone", "moment", "expired", "days_left"),
    [
        # UTC+8 at 01:00 on 10 March: still 9 March in UTC, but the pack expired yesterday.
        (SHANGHAI, "2026-03-10T01:00", True, -1),
        # UTC+8 at 23:00 on 9 March: its last good day (UTC says the same date here).
        (SHANGHAI, "2026-03-09T23:00", False, 0),
        # UTC-5 at 19:30 on 9 March: already 10 March in UTC, but the pack is still good.
        (BOGOTA, "2026-03-09T19:30", False, 0),
        # UTC-5 at 00:30 on 10 March: expired.
        (BOGOTA, "2026-03-10T00:30", True, -1),
    ],
)
def test_expiry_is_judged_on_the_sites_date(
    tmp_path: Path, zone: ZoneInfo, moment: str, expired: bool, days_left: int
) -> None:
    now = local(zone, moment)
    keeper = InventoryKeeper(
        tmp_path / "l.sqlite", {GTIN: PRODUCT}, "s", "g", SiteCalendar(zone, lambda: now)
    )
    keeper.commit(
        [Movement(MovementKind.RECEIVE, GTIN, 2, batch="B1", expiry="2026-03-09", to_slot="A-01")]
    )
    today = keeper.calendar.today()
    assert today == now.date()
    assert keeper.calendar.expired("2026-03-09") is expired
    assert keeper.calendar.days_left("2026-03-09") == days_left
    # FEFO offers it only while it is good.
    assert bool(keeper.index.fefo(GTIN, today)) is not expired
    # The pick check refuses it as expired exactly then (no list is open: otherwise "not on
    # the pick list").
    (line,) = keeper.index.lines()
    verdict = check_pack(line, [], today, set())
    assert isinstance(verdict, Mistake)
    assert (verdict.reason == "expired") is expired
    # The sweep quarantines it or counts its days left.
    expiry_sweep(keeper, today, near_days=30)
    (after,) = keeper.index.lines()
    alarms = {a.kind: a for a in keeper.alarms.live()}
    if expired:
        assert after.status is StockStatus.QUARANTINED and AlarmKind.EXPIRED in alarms
    else:
        assert after.status is StockStatus.AVAILABLE
        assert alarms[AlarmKind.NEAR_EXPIRY].detail["days_left"] == 0
    keeper.close()


def test_day_00_in_a_leap_february_is_good_through_the_29th() -> None:
    from inventory.codes.barcodes import parse_pack_barcode

    scan = parse_pack_barcode(f"]d201{GTIN}17280200" + "10B1\x1d21S1")
    assert scan.expiry == date(2028, 2, 29)
    calendar = SiteCalendar(SHANGHAI, lambda: local(SHANGHAI, "2028-02-29T23:59"))
    assert not calendar.expired(scan.expiry) and calendar.days_left(scan.expiry) == 0
    calendar = SiteCalendar(SHANGHAI, lambda: local(SHANGHAI, "2028-03-01T00:00"))
    assert calendar.expired(scan.expiry)


def test_the_offset_is_the_sites_at_that_instant() -> None:
    berlin = SiteCalendar(ZoneInfo("Europe/Berlin"))
    assert berlin.offset(datetime(2026, 1, 15, 12, tzinfo=UTC)) == "+01:00"
    assert berlin.offset(datetime(2026, 7, 15, 12, tzinfo=UTC)) == "+02:00"
    assert SiteCalendar(BOGOTA).offset(datetime(2026, 7, 15, tzinfo=UTC)) == "-05:00"


def test_a_stored_instant_is_shown_on_the_sites_clock_with_its_offset() -> None:
    berlin = SiteCalendar(ZoneInfo("Europe/Berlin"))
    assert berlin.clock_time("2026-07-15T22:30:00.000Z") == "2026-07-16 00:30 +02:00"
    assert berlin.clock_time("2026-01-15t22:30:00z") == "2026-01-15 23:30 +01:00"
    assert SiteCalendar(BOGOTA).clock_time(datetime(2026, 7, 15, 3, tzinfo=UTC)) == (
        "2026-07-14 22:00 -05:00"
    )


def test_the_daily_time_across_european_dst_nights() -> None:
    berlin = SiteCalendar(ZoneInfo("Europe/Berlin"))
    two = time(2, 0)
    # Spring: 02:00 does not exist on 29 March 2026; the sweep runs when the clocks jump.
    spring = berlin.next_daily(two, date(2026, 3, 28))
    assert spring == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST
    # Autumn: 02:00 happens twice on 25 October 2026; only the first counts.
    autumn = berlin.next_daily(two, date(2026, 10, 24))
    assert autumn == datetime(2026, 10, 25, 0, 0, tzinfo=UTC)  # 02:00 CEST
    again = berlin.next_daily(two, berlin.date_of(autumn))
    assert again == datetime(2026, 10, 26, 1, 0, tzinfo=UTC)  # the next day's, not 02:00 CET


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [("Asia/Shangai", "Asia/Shanghai"), ("Europe/Berln", "Europe/Berlin"), ("shanghai", "Asia")],
)
def test_an_unknown_zone_name_is_refused_with_the_nearest_names(name: str, suggestion: str) -> None:
    problem = zone_problem(name)
    assert problem is not None and "did you mean" in problem and suggestion in problem
    assert zone_problem("Asia/Shanghai") is None
