"""Benchmarks: each prints its figures and the ratio to a baseline measured in the same run.

`BENCHMARKS` names every benchmark with the time it may take in full (`make bench` stops one
that overruns and says which). Each also runs in a quick mode (`--quick`: small sizes, a few
seconds) that the test suite runs, so that a benchmark the code has outgrown fails a test."""

BENCHMARKS: dict[str, float] = {
    "bench_decoders": 300,
    "bench_reader_load": 300,
    "bench_ledger": 900,
    "bench_write_path": 300,
    "bench_change_burst": 300,
    "bench_shelf_bus": 300,
    "bench_pick_latency": 300,
    "bench_putaway_latency": 300,
    "bench_stocktake": 300,
    "bench_outbox": 900,
    "bench_web_pages": 900,
    "bench_web_live": 900,
    "bench_scale": 900,
}
