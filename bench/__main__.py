"""`make bench`: every benchmark, one after the other."""

from __future__ import annotations

from bench import bench_r2000_decode


def main() -> None:
    bench_r2000_decode.main()


if __name__ == "__main__":
    main()
