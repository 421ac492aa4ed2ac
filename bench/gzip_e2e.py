#!/usr/bin/env python3
"""The gzip rows of bench/run.py alone: `logship run` on gzipped NDJSON (one member as
logrotate writes it, and four members) into `logship emulate --discard`, each run right after
`zcat FILE > /dev/null` on the same file, so both see the same moment's load.

  swift build -c release --product logship
  bench/gzip_e2e.py --runs 7            # 200M inputs (the same files run.py generates)
  bench/gzip_e2e.py --members 1         # the one-member file only
  bench/gzip_e2e.py --compare /tmp/logship-old   # also another build, in the same rounds

Prints, per file: the median of the per-pair ratios zcat time / logship time (≥ 1 means
logship is faster than zcat), the runs' ratios, the medians of both times, logship's CPU
seconds per 100 MB of decoded bytes, and the load average at the start and the end.
"""
import argparse
import os
import shutil
import statistics
import tempfile

import run as bench


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="200M")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--members", type=int, choices=[1, 4], help="only this file (default: both)")
    ap.add_argument("--compare", help="another logship binary, run in every round after this one")
    args = ap.parse_args()
    size = args.size
    rows = [
        (1, bench.gen("ndjson", size, f"web-{size}-1member.ndjson.gz", members=1), "ndjson-gzip.json5"),
        (4, bench.gen("ndjson", size, f"web-{size}-4members.ndjson.gz", members=4), "ndjson-gzip-members.json5"),
    ]
    rows = [r for r in rows if args.members in (None, r[0])]
    load = lambda: " ".join(open("/proc/loadavg").read().split()[:3])
    print(f"# gzip end to end, {size}, {args.runs} interleaved runs, load average {load()}", flush=True)
    for _, f, _ in rows:
        bench.sh(f"cat '{f}' > /dev/null", shell=True)
    emu = bench.Emulator()
    try:
        for members, f, pipeline in rows:
            e = emu.env()
            e["BENCH_SIZE"] = size
            binaries = [bench.LOGSHIP] + ([args.compare] if args.compare else [])
            zs, ts, cpu, ratios = [], {b: [] for b in binaries}, {b: [] for b in binaries}, {b: [] for b in binaries}
            for i in range(args.runs):
                z = bench.timed_shell(f"zcat '{f}' > /dev/null")
                zs.append(z)
                # With --compare, the two builds take turns at running first.
                for binary in binaries if i % 2 == 0 else binaries[::-1]:
                    state = tempfile.mkdtemp(prefix="logship-bench-state-")
                    cmd = [binary, "run", os.path.join(bench.BENCH, "pipelines", pipeline), "--endpoint", emu.url,
                           "--state-dir", state, "--restart", "--progress", "none"]
                    t, _ = bench.timed(cmd, env=e, cpu=cpu[binary])
                    shutil.rmtree(state, ignore_errors=True)
                    ts[binary].append(t)
                    ratios[binary].append(z / t)
            decoded = bench.decoded_size(f)
            for binary in binaries:
                cpu100 = bench.cpu_per_100mb(cpu[binary], decoded)
                r = ratios[binary]
                print(f"  {members} member(s), {binary}: {statistics.median(r):.2f} × zcat "
                      f"(runs {', '.join(f'{x:.2f}' for x in r)}); logship median {statistics.median(ts[binary]):.3f} s, "
                      f"zcat median {statistics.median(zs):.3f} s, {cpu100:.2f} CPU-s/100MB", flush=True)
    finally:
        emu.stop()
    print(f"# load average at the end {load()}", flush=True)


if __name__ == "__main__":
    main()
