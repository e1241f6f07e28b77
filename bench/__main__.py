"""`make bench`: every benchmark, one after the other."""

from __future__ import annotations

from bench import (
    bench_decoders,
    bench_ledger,
    bench_outbox,
    bench_pick_latency,
    bench_putaway_latency,
    bench_reader_load,
    bench_shelf_bus,
    bench_stocktake,
    bench_web_live,
    bench_web_pages,
    bench_write_path,
)


def main() -> None:
    bench_decoders.main()
    bench_reader_load.main()
    bench_ledger.main()
    bench_write_path.main()
    bench_shelf_bus.main()
    bench_pick_latency.main()
    bench_putaway_latency.main()
    bench_stocktake.main()
    bench_outbox.main()
    bench_web_pages.main([])
    bench_web_live.main([])


if __name__ == "__main__":
    main()
