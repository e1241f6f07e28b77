"""A pick list naming the scanner its picker uses: one that confirms no picks (not configured,
a typo, a goods-in scanner) is refused with the names of those that do, from the centre and
from the command line alike, instead of a list whose scans would all go nowhere."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from drivers.modbus.lights import DARK
from edge.demo.local_broker import LocalBroker
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.pick_rig import AMOX, PREFIX, results, start_rig, statuses, stop_rig
from tests.edge.procurement_rig import CliRun


async def test_a_list_for_a_scanner_that_confirms_no_picks_is_refused_naming_those_that_do(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    rig = await start_rig(tmp_path, broker)
    try:
        centre = subscribe(f"{PREFIX}/cmd-result")
        lines = [{"gtin": AMOX, "quantity": 1}]
        typo = {"pick_id": "rx-s1", "lines": lines, "scanner": "dsk"}
        centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(typo)))
        await eventually(lambda: statuses(centre, "rx-s1") == ["error"], what="refused")
        error = str(results(centre, "rx-s1")[0]["error"])
        assert "'dsk'" in error and "'desk'" in error and "'hh'" in error, error
        assert await rig.light("A-02") == DARK, "nothing set aside for it"

        listed = tmp_path / "rx-s2.json"
        listed.write_text(json.dumps({"pick_id": "rx-s2", "lines": lines, "scanner": "goods-in"}))
        target = ["--broker", broker.url, "--site", "s1", "--gateway", "g1"]
        cli = await CliRun.start("pick", str(listed), *target)
        assert await cli.finish(timeout=30) == 1, cli.lines + cli.errors
        said = "\n".join(cli.lines)
        assert "rx-s2: error: scanner 'goods-in' does not confirm picks" in said, said
        assert "'desk'" in said and "'hh'" in said

        # The handheld reader the rig has confirms picks: a list for it is taken.
        handheld = {"pick_id": "rx-s3", "lines": lines, "scanner": "hh"}
        centre.publish(f"{PREFIX}/cmd/pick", json.dumps(with_envelope(handheld)))
        await eventually(lambda: statuses(centre, "rx-s3") == ["accepted"], what="accepted")
    finally:
        await stop_rig(rig)
