"""`python -m bench [availability] [webhook] [wizard] [admin] [load] [connections]`: run the
benchmarks, print the figures.

With no argument every benchmark runs. `--backends sqlite` limits the database ones.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from bench import Report

BENCHES = ("availability", "webhook", "wizard", "admin", "load", "connections")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("benches", nargs="*", metavar="BENCH", help=", ".join(BENCHES))
    parser.add_argument("--backends", default="sqlite,postgresql",
                        help="databases for availability and webhook (comma-separated)")
    args = parser.parse_args(argv)
    chosen = args.benches or list(BENCHES)
    unknown = sorted(set(chosen) - set(BENCHES))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHES)}")
    backends = tuple(b for b in args.backends.split(",") if b)
    logging.basicConfig(level=logging.WARNING)
    report = Report()
    started = time.monotonic()
    failed: list[str] = []
    for name in chosen:
        module = __import__(f"bench.{name}", fromlist=["run"])
        try:
            if name == "wizard":
                module.run(report)
            else:
                module.run(report, backends=backends)
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            logging.exception("benchmark %s failed", name)
            failed.append(f"{name}: {type(exc).__name__}: {exc}")
    print(f"\nResults ({time.monotonic() - started:.0f} s)\n")
    print(report.render())
    for line in failed:
        print(f"FAILED {line}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
