#!/usr/bin/env python3
"""Summarises a center_sim --samples-csv file: how latency moves over the window.

    scripts/latency_windows.py FILE.csv [BUCKET_MS]

Prints the latency quantiles, then per bucket of BUCKET_MS (default 250) the answers completed
and their mean latency, and how much of the latency's variance the bucket a request completed in
explains (at 10, 20, 50, 100 and 250 ms). In a closed loop the mean latency is connections /
throughput, so a share near 1 says the spread comes from the throughput moving over time (the
node or the machine slowing for a while), not from some requests waiting behind others.
"""
import csv
import statistics
import sys


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    bucket_ms = float(sys.argv[2]) if len(sys.argv) == 3 else 250.0
    with open(sys.argv[1], newline="") as f:
        reader = csv.DictReader(f)
        missing = {"done_ms", "latency_ms", "status"} - set(reader.fieldnames or [])
        if missing:
            sys.exit("%s: not a center_sim --samples-csv file (no column %s)"
                     % (sys.argv[1], ", ".join(sorted(missing))))
        records = list(reader)
    if not records:
        sys.exit("no answers in " + sys.argv[1])
    statuses = {}
    for r in records:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    # As center_sim's own figures: every answer counts (status 0 is a transport error).
    print("statuses: " + ", ".join("%s: %d" % kv for kv in sorted(statuses.items())))
    rows = [(float(r["done_ms"]), float(r["latency_ms"])) for r in records]
    lat = sorted(l for _, l in rows)
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
    print("answers %d, latency ms p50 %.2f p90 %.2f p99 %.2f max %.2f"
          % (len(lat), q(0.5), q(0.9), q(0.99), lat[-1]))
    mean = statistics.fmean(lat)
    total = sum((l - mean) ** 2 for l in lat) or 1.0
    shares = []
    for width in (10, 20, 50, 100, 250):
        groups = {}
        for t, l in rows:
            groups.setdefault(int(t // width), []).append(l)
        means = {k: statistics.fmean(v) for k, v in groups.items()}
        explained = sum((means[int(t // width)] - mean) ** 2 for t, _ in rows)
        shares.append("%d ms: %.2f" % (width, explained / total))
    print("variance explained by the completion bucket: " + ", ".join(shares))
    groups = {}
    for t, l in rows:
        groups.setdefault(int(t // bucket_ms), []).append(l)
    print("per %g ms (answers/mean latency ms):" % bucket_ms)
    keys = sorted(groups)
    cells = ["%d/%.1f" % (len(groups[k]), statistics.fmean(groups[k])) for k in keys]
    for i in range(0, len(cells), 10):
        print("  %8.0f  %s" % (keys[i] * bucket_ms, " ".join(cells[i:i + 10])))


if __name__ == "__main__":
    main()
