#!/usr/bin/env python3
"""Per-kernel time of one decode step, from an Nsight Compute CSV of bench/gpu_decode.

bench/profile_gpu_decode.sh writes the CSV (metrics gpu__time_duration.sum and
dram__bytes_read.sum, one row per kernel and metric). A decode step is found between two
consecutive launches of the step's first kernel (the embedding); the step given by --step (0 is
the first such step, which may still be the prefill) is summed by kernel name and grid.

Kernel times under ncu are measured one kernel at a time, with the GPU idle in between: small
kernels come out slower than they run inside a CUDA graph, so read the small-kernel rows as an
upper bound and the weight-streaming rows (GB/s) as the signal.
"""
import argparse
import collections
import csv
import json
import sys


def load(path):
    lines = open(path).read().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith('"ID"'))
    kernels, order = {}, []
    for row in csv.DictReader(lines[start:]):
        if not row.get("ID", "").isdigit():
            continue
        i = int(row["ID"])
        if i not in kernels:
            kernels[i] = {"name": row["Kernel Name"], "grid": row["Grid Size"]}
            order.append(i)
        kernels[i][row["Metric Name"]] = float(row["Metric Value"].replace(",", ""))
    return kernels, order


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv")
    parser.add_argument("--step", type=int, default=2)
    args = parser.parse_args()
    kernels, order = load(args.csv)
    firsts = [i for i in order if "embedding" in kernels[i]["name"]]
    if len(firsts) < args.step + 2:
        sys.exit(f"{args.csv}: only {len(firsts)} step starts found (embedding kernels)")
    begin, end = firsts[args.step], firsts[args.step + 1]
    groups = collections.defaultdict(lambda: {"launches": 0, "microseconds": 0.0, "megabytes_read": 0.0})
    for i in order:
        if not begin <= i < end:
            continue
        k = kernels[i]
        g = groups[(k["name"][:70], k["grid"])]
        g["launches"] += 1
        g["microseconds"] += k.get("gpu__time_duration.sum", 0.0) / 1e3
        g["megabytes_read"] += k.get("dram__bytes_read.sum", 0.0) / 1e6
    rows = []
    for (name, grid), g in sorted(groups.items(), key=lambda kv: -kv[1]["microseconds"]):
        rate = g["megabytes_read"] / g["microseconds"] * 1e3 if g["microseconds"] else 0.0  # MB/us
        rows.append({"kernel": name, "grid": grid, "launches": g["launches"],
                     "microseconds": round(g["microseconds"], 1),
                     "megabytes_read": round(g["megabytes_read"], 1),
                     "read_gb_per_second": round(rate)})
    print(json.dumps({"step": args.step, "kernels": end - begin,
                      "microseconds": round(sum(r["microseconds"] for r in rows), 1),
                      "by_kernel": rows}, indent=1))


if __name__ == "__main__":
    main()
