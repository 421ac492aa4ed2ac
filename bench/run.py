#!/usr/bin/env python3
"""logship benchmarks, release build, everything measured in the same invocation.

  bench/run.py                      # 200M inputs: baselines, stages, end to end, peer script
  bench/run.py --size 20M --runs 1  # quick look
  bench/run.py --skip-build --runs 7 --only 'ndjson logs-ingestion'   # one end-to-end row
  bench/run.py --memory             # also peak RSS for a 2G input against 200M, with the
                                    # emulator answering at once and after 200 ms

What it measures, each run `--runs` times, median reported:
  baselines  `cat FILE > /dev/null`, `zcat FILE > /dev/null` on the same files
  stages     logship-bench read / transform (reader + decoder [+ transformer], one thread); the
             JSON-array reader alternates run by run with the NDJSON reader on the same records
  end to end `logship run` into `logship emulate --discard` (separate processes, loopback):
             Data Collector target for every input (gzip: one member as logrotate writes
             it, and four members), the Logs Ingestion target (1 MB gzipped bodies) on the
             NDJSON, alternating run by run with the same run gzipping by zlib
             (`upload.compression: "zlib"`, a row of its own); and ../shared/bench/peer_python.py
             (the documented Python sample, scaled up) against the same emulator on the same file
  CPU        every end-to-end row also gives the child's CPU seconds (user + system, from its
             rusage; the emulator's are not counted) per 100 MB of input (decoded bytes for
             gzip). The gzip rows alternate with `zcat` run by run, and their ratio to `zcat`
             is the median of the per-pair ratios.
Results: a Markdown table on stdout and bench/results/latest.json (only.json with --only).
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import base64

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
DATA = os.path.join(BENCH, "data")
PEER = os.path.normpath(os.path.join(ROOT, "..", "shared", "bench", "peer_python.py"))
LOGSHIP = os.path.join(ROOT, ".build", "release", "logship")
STAGES = os.path.join(ROOT, ".build", "release", "logship-bench")


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def build():
    sh(["swift", "build", "-c", "release", "--product", "logship"], cwd=ROOT, stdout=subprocess.DEVNULL)
    sh(["swift", "build", "-c", "release", "--product", "logship-bench"], cwd=ROOT, stdout=subprocess.DEVNULL)


def gen(kind, size, name, members=0):
    """members: 0 plain; K ≥ 1 gzip level 6 in K members."""
    path = os.path.join(DATA, name)
    if not os.path.exists(path):
        os.makedirs(DATA, exist_ok=True)
        args = [sys.executable, os.path.join(BENCH, "gen.py"), kind, "--size", size, "--out", path]
        if members:
            args += ["--gzip", "--members", str(members)]
        sh(args, stderr=subprocess.DEVNULL)
    return path


def timed(cmd, env=None, stdout=subprocess.DEVNULL, cpu=None):
    """Wall seconds and peak RSS (KB) of one child process; its CPU seconds are appended to `cpu`."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=stdout, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    elapsed = time.perf_counter() - t0
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {code}:\n{err[-2000:]}")
    if cpu is not None:
        cpu.append(usage.ru_utime + usage.ru_stime)
    return elapsed, usage.ru_maxrss


def timed_shell(cmd, cpu=None):
    """Wall seconds of a shell command; its CPU seconds (shell and children) appended to `cpu`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    sh(cmd, shell=True)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu is not None:
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return elapsed


def median_run(cmd, runs, env=None, shell=False, cpu=None):
    times, rss = [], []
    for _ in range(runs):
        if shell:
            times.append(timed_shell(cmd, cpu=cpu))
            rss.append(0)
        else:
            t, r = timed(cmd, env=env, cpu=cpu)
            times.append(t)
            rss.append(r)
    return statistics.median(times), max(rss), times


class Emulator:
    def __init__(self, latency_ms=0):
        self.dir = tempfile.mkdtemp(prefix="logship-bench-emu-")
        self.workspace = str(uuid.uuid4())
        self.key = base64.b64encode(os.urandom(64)).decode()
        self.tenant, self.client = str(uuid.uuid4()), str(uuid.uuid4())
        self.secret = base64.b64encode(os.urandom(24)).decode()
        self.proc = subprocess.Popen(
            [LOGSHIP, "emulate", "--port", "0", "--discard", "--data-dir", self.dir,
             "--workspace-id", self.workspace, "--shared-key", self.key, "--latency-ms", str(latency_ms),
             "--tenant-id", self.tenant, "--client-id", self.client, "--client-secret", self.secret],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode().strip()
        if not line.startswith("listening on "):
            raise SystemExit(f"emulator did not start: {line}")
        self.url = line[len("listening on "):]

    def env(self):
        e = dict(os.environ)
        e.update(LOGSHIP_WORKSPACE_ID=self.workspace, LOGSHIP_SHARED_KEY=self.key,
                 LOGSHIP_TENANT_ID=self.tenant, LOGSHIP_CLIENT_ID=self.client, LOGSHIP_CLIENT_SECRET=self.secret,
                 AZURE_AUTHORITY_HOST=self.url)
        return e

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def stage(name, pipeline, env, runs):
    results = []
    for _ in range(runs):
        out = subprocess.run([STAGES, name, pipeline], env=env, check=True, capture_output=True).stdout
        results.append(json.loads(out))
    best = sorted(results, key=lambda r: r["seconds"])[len(results) // 2]
    return best


def json_array(ndjson_path, size):
    """The NDJSON file's records as one JSON array (for the JSON-array reading stage)."""
    path = os.path.join(BENCH, "data", f"web-{size}.array.json")
    if not os.path.exists(path) or os.path.getmtime(path) < os.path.getmtime(ndjson_path):
        with open(ndjson_path, "rb") as f, open(path + ".tmp", "wb") as out:
            out.write(b"[")
            first = True
            for line in f:
                line = line.rstrip(b"\n")
                if not line:
                    continue
                if not first:
                    out.write(b",\n")
                out.write(line)
                first = False
            out.write(b"]\n")
        os.replace(path + ".tmp", path)
    return path


def jvm_log(size):
    """A JVM application log of about SIZE bytes: one line in eight opens a stack trace of 5-30
    frames (with a 'Caused by' now and then), the multi-line grouping stage's input."""
    path = os.path.join(BENCH, "data", f"jvm-{size}.log")
    if os.path.exists(path):
        return path
    target = int(float(size[:-1]) * {"K": 1e3, "M": 1e6, "G": 1e9}[size[-1]]) if size[-1] in "KMG" else int(size)
    import random
    rng = random.Random(14)
    levels = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"]
    written = 0
    with open(path + ".tmp", "w") as out:
        n = 0
        while written < target:
            ms = n * 37
            t = f"2026-11-23 {ms // 3600000 % 24:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"
            lvl = rng.choice(levels)
            text = f"{t} {lvl:<5} [http-nio-8080-exec-{n % 16}] c.e.shop.OrderService - order {n} handled in {rng.randint(1, 900)} ms\n"
            if n % 8 == 0:
                text += f"java.lang.IllegalStateException: order {n} has no lines\n"
                for k in range(rng.randint(5, 30)):
                    text += f"\tat com.example.shop.Layer{k}.call(Layer{k}.java:{rng.randint(10, 999)})\n"
                if n % 24 == 0:
                    text += "Caused by: java.sql.SQLException: connection reset\n\tat org.pg.Driver.exec(Driver.java:88)\n\t... 12 more\n"
            out.write(text)
            written += len(text)
            n += 1
    os.replace(path + ".tmp", path)
    return path


def mb(n):
    return n / 1e6


def decoded_size(path):
    """Bytes a gzip file holds (every member)."""
    import gzip as gz
    n = 0
    with gz.open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                return n
            n += len(b)


def cpu_per_100mb(cpu_runs, nbytes):
    return round(statistics.median(cpu_runs) / (nbytes / 1e8), 3)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="200M")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--memory", action="store_true", help="also compare peak RSS for 2G against 200M")
    ap.add_argument("--skip-peer", action="store_true")
    ap.add_argument("--skip-build", action="store_true", help="use the release binaries already built")
    ap.add_argument("--only", help="only these end-to-end rows, comma-separated (e.g. 'ndjson logs-ingestion'); "
                    "no baselines, stages, peer or memory")
    args = ap.parse_args()
    only = [k.strip() for k in args.only.split(",")] if args.only else None

    if not args.skip_build:
        build()
    size = args.size
    made = {
        "ndjson": lambda: gen("ndjson", size, f"web-{size}.ndjson"),
        "ndjson.gz": lambda: gen("ndjson", size, f"web-{size}-1member.ndjson.gz", members=1),
        "ndjson.gz 4 members": lambda: gen("ndjson", size, f"web-{size}-4members.ndjson.gz", members=4),
        "csv": lambda: gen("csv", size, f"orders-{size}.csv"),
        "nginx": lambda: gen("nginx", size, f"access-{size}.log"),
    }
    e2e_keys = ["ndjson", "ndjson.gz", "ndjson.gz 4 members", "csv", "nginx", "ndjson logs-ingestion"]
    if only:
        unknown = [k for k in only if k not in e2e_keys]
        if unknown:
            raise SystemExit(f"--only: unknown row(s) {unknown}; rows: {', '.join(e2e_keys)}")
        e2e_keys = only
    needed = {"ndjson" if k == "ndjson logs-ingestion" else k for k in e2e_keys} if only else made.keys()
    files = {k: f() for k, f in made.items() if k in needed}
    pipelines = {
        "ndjson": os.path.join(BENCH, "pipelines", "ndjson-passthrough.json5"),
        "ndjson.gz": os.path.join(BENCH, "pipelines", "ndjson-gzip.json5"),
        "ndjson.gz 4 members": os.path.join(BENCH, "pipelines", "ndjson-gzip-members.json5"),
        "csv": os.path.join(BENCH, "pipelines", "csv-typed.json5"),
        "nginx": os.path.join(BENCH, "pipelines", "nginx-typed.json5"),
        "ndjson logs-ingestion": os.path.join(BENCH, "pipelines", "ndjson-logs-ingestion.json5"),
        "ndjson logs-ingestion zlib": os.path.join(BENCH, "pipelines", "ndjson-logs-ingestion-zlib.json5"),
    }
    gz_keys = ["ndjson.gz", "ndjson.gz 4 members"]
    # Bytes of input each row processes: decoded bytes for gzip (CPU per 100 MB of records).
    decoded = {k: (decoded_size(f) if k in gz_keys else os.path.getsize(f)) for k, f in files.items()}
    env = dict(os.environ, BENCH_SIZE=size)
    results = {"size": size, "runs": args.runs, "machine": os.uname().nodename, "cpus": os.cpu_count(), "rows": []}
    results["loadavgStart"] = open("/proc/loadavg").read().split()[:3]
    rows = results["rows"]

    def row(what, seconds, nbytes, note="", rss=None, records=None, cpu=None, cpu_bytes=None):
        r = {"what": what, "seconds": round(seconds, 3), "MBps": round(mb(nbytes) / seconds, 1), "note": note}
        if rss:
            r["peakRSSMB"] = round(rss / 1024, 1)
        if records:
            r["recordsPerSecond"] = round(records / seconds)
        if cpu:
            r["cpuSecondsPer100MB"] = cpu_per_100mb(cpu, cpu_bytes or nbytes)
        rows.append(r)
        c = f"  {r['cpuSecondsPer100MB']:5.2f} CPU-s/100MB" if cpu else ""
        print(f"  {what:<46} {r['MBps']:>8} MB/s  {seconds:7.3f} s{c}  {note}", flush=True)
        return r

    print(f"# logship benchmark, {size} inputs, median of {args.runs}, {os.cpu_count()} cores, "
          f"load average {' '.join(results['loadavgStart'])}", flush=True)
    # Page cache: read every file once before timing.
    for f in files.values():
        sh(f"cat '{f}' > /dev/null", shell=True)

    print("## baselines (CPU per 100 MB of decoded bytes)", flush=True)
    base = {}
    for k, f in files.items() if not only else []:
        cpu = []
        if k in gz_keys:
            t, _, _ = median_run(f"zcat '{f}' > /dev/null", args.runs, shell=True, cpu=cpu)
            base[k] = t
            row(f"zcat {os.path.basename(f)}", t, os.path.getsize(f), "compressed bytes", cpu=cpu, cpu_bytes=decoded[k])
        else:
            t, _, _ = median_run(f"cat '{f}' > /dev/null", args.runs, shell=True, cpu=cpu)
            row(f"cat {os.path.basename(f)}", t, os.path.getsize(f), cpu=cpu)

    print("## stages (one thread, no upload)", flush=True)
    for k in ["ndjson", "ndjson.gz", "ndjson.gz 4 members", "csv", "nginx"] if not only else []:
        for s in ["read", "transform"]:
            r = stage(s, pipelines[k], env, args.runs)
            row(f"{s:<9} {k}", r["seconds"], r["bytes"], f"{r['recordsPerSecond'] / 1e6:.2f} M records/s",
                rss=r["peakRSSKB"], records=r["records"])
            if k in gz_keys and s == "read":
                rows[-1]["vsZcat"] = round(base[k] / r["seconds"], 2)
    # Issue 14's inputs: JSON-array reading against the NDJSON reader (same records), and
    # multi-line grouping (lines grouped into stack-trace records, then the raw pattern).
    if not only:
        json_array(files["ndjson"], size)
        jvm_log(size)
        # The two readers alternate run by run, so that both see the same machine; the ratio is
        # the median of the per-pair ratios of MB/s (each side's median run is reported too).
        arr_runs, nd_runs, ratios = [], [], []
        for _ in range(args.runs):
            a = stage("read", os.path.join(BENCH, "pipelines", "json-array.json5"), env, 1)
            n = stage("read", pipelines["ndjson"], env, 1)
            arr_runs.append(a)
            nd_runs.append(n)
            ratios.append((a["bytes"] / a["seconds"]) / (n["bytes"] / n["seconds"]))
        r = sorted(arr_runs, key=lambda x: x["seconds"])[len(arr_runs) // 2]
        nd = sorted(nd_runs, key=lambda x: x["seconds"])[len(nd_runs) // 2]
        ratio = statistics.median(ratios)
        row("read      json array", r["seconds"], r["bytes"],
            f"{ratio:.2f} × the NDJSON reader's MB/s ({mb(nd['bytes']) / nd['seconds']:.0f} MB/s, alternating; "
            f"runs: {', '.join(f'{x:.2f}' for x in ratios)})",
            rss=r["peakRSSKB"], records=r["records"])
        rows[-1]["vsNDJSONRead"] = round(ratio, 2)
        r = stage("read", os.path.join(BENCH, "pipelines", "multiline-java.json5"), env, args.runs)
        row("read      multi-line (java)", r["seconds"], r["bytes"], f"{r['recordsPerSecond'] / 1e6:.2f} M records/s",
            rss=r["peakRSSKB"], records=r["records"])

    print("## end to end: logship run → logship emulate --discard (separate processes)", flush=True)
    emu = Emulator()
    try:
        e2e = {}
        for k in e2e_keys:
            f = files["ndjson" if k == "ndjson logs-ingestion" else k]
            e = emu.env()
            e["BENCH_SIZE"] = size
            times, rss, cpu, ratios = [], 0, [], []
            # The Logs Ingestion row alternates with the same run gzipping by zlib
            # (`upload.compression: "zlib"`), run by run, so both see the same moment's load.
            zlib = {"times": [], "cpu": [], "rss": 0}
            for _ in range(args.runs):
                if k in gz_keys:
                    # Interleaved with zcat, so both see the same moment's load.
                    z = timed_shell(f"zcat '{f}' > /dev/null")
                variants = [(pipelines[k], times, cpu)]
                if k == "ndjson logs-ingestion":
                    variants.append((pipelines["ndjson logs-ingestion zlib"], zlib["times"], zlib["cpu"]))
                for pipeline, ts, cs in variants:
                    state = tempfile.mkdtemp(prefix="logship-bench-state-")
                    cmd = [LOGSHIP, "run", pipeline, "--endpoint", emu.url, "--state-dir", state, "--restart",
                           "--progress", "none"]
                    t, r = timed(cmd, env=e, cpu=cs)
                    shutil.rmtree(state, ignore_errors=True)
                    ts.append(t)
                    rss = max(rss, r)
                if k in gz_keys:
                    ratios.append(z / times[-1])
            t = statistics.median(times)
            e2e[k] = t
            key = "ndjson" if k == "ndjson logs-ingestion" else k
            r = row(f"logship run {k}", t, os.path.getsize(f), "", rss=rss, cpu=cpu, cpu_bytes=decoded[key])
            if k in gz_keys:
                r["vsZcat"] = round(statistics.median(ratios), 2)
                r["note"] = f"{r['vsZcat']} × zcat (runs: {', '.join(f'{x:.2f}' for x in ratios)})"
                print(f"    → {r['note']}", flush=True)
            if zlib["times"]:
                note = "upload.compression zlib (CPU-s runs: " + ", ".join(f"{x:.2f}" for x in zlib["cpu"]) + ")"
                row(f"logship run {k} (zlib)", statistics.median(zlib["times"]), os.path.getsize(f), note,
                    cpu=zlib["cpu"], cpu_bytes=decoded[key])
                print(f"    → fast CPU-s runs: {', '.join(f'{x:.2f}' for x in cpu)}", flush=True)
        if not args.skip_peer and not only:
            for k, fmt in [("ndjson", "ndjson"), ("csv", "csv"), ("ndjson.gz", "ndjson")]:
                cmd = [sys.executable, PEER, "--endpoint", emu.url, "--workspace-id", emu.workspace, "--shared-key", emu.key,
                       "--log-type", "Peer", "--format", fmt, files[k]]
                cpu = []
                t, rss, _ = median_run(cmd, args.runs, cpu=cpu)
                r = row(f"peer_python.py {k}", t, os.path.getsize(files[k]), "", rss=rss, cpu=cpu, cpu_bytes=decoded[k])
                ratio = t / e2e[k]
                r["logshipSpeedup"] = round(ratio, 1)
                r["note"] = f"logship is {ratio:.1f} × faster"
                print(f"    → logship is {ratio:.1f} × faster", flush=True)
    finally:
        emu.stop()
    results["loadavgEnd"] = open("/proc/loadavg").read().split()[:3]
    print(f"# load average at the end: {' '.join(results['loadavgEnd'])}", flush=True)

    if args.memory and not only:
        print("## memory: peak RSS for 2G against 200M (reader alone; whole run at the same concurrency)", flush=True)
        big = gen("ndjson", "2G", "web-2G.ndjson")
        small = gen("ndjson", "200M", "web-200M.ndjson")
        tiny = gen("ndjson", "20M", "web-20M.ndjson")
        readers = {}
        for label in ["20M", "2G"]:
            r = stage("read", pipelines["ndjson"], dict(env, BENCH_SIZE=label), 1)
            readers[label] = r["peakRSSKB"]
            row(f"read ndjson {label}", r["seconds"], r["bytes"], f"peak RSS {r['peakRSSKB'] / 1024:.1f} MB", rss=r["peakRSSKB"])
        results["readerMemoryRatio"] = round(readers["2G"] / readers["20M"], 3)
        print(f"    → reader peak RSS 2G / 20M = {results['readerMemoryRatio']:.3f}", flush=True)
        # Twice: with the emulator answering at once, where both processes share the two cores
        # and how far production runs ahead of the uploads is a matter of timing; and answering
        # after 200 ms, about what sending a 25 MB body takes on a 1 Gbit/s link alone, where the
        # uploads are the slower side, as they are against the service.
        for latency in [0, 200]:
            emu = Emulator(latency_ms=latency)
            try:
                peaks, highest = {}, {}
                for label in ["200M", "2G"]:
                    e = emu.env()
                    e["BENCH_SIZE"] = label
                    rss_runs = []
                    for _ in range(max(args.runs, 5)):
                        state = tempfile.mkdtemp(prefix="logship-bench-state-")
                        cmd = [LOGSHIP, "run", pipelines["ndjson"], "--endpoint", emu.url, "--state-dir", state, "--restart", "--progress", "none"]
                        t, rss = timed(cmd, env=e)
                        shutil.rmtree(state, ignore_errors=True)
                        rss_runs.append(rss)
                    peaks[label] = statistics.median(rss_runs)
                    highest[label] = max(rss_runs)
                    row(f"logship run ndjson {label}, answers after {latency} ms", t, os.path.getsize(big if label == "2G" else small),
                        f"peak RSS median {peaks[label] / 1024:.0f} MB (runs: {', '.join(f'{r / 1024:.0f}' for r in rss_runs)})", rss=peaks[label])
                ratio = peaks["2G"] / peaks["200M"]
                ratio_max = highest["2G"] / highest["200M"]
                suffix = "" if latency == 0 else f"At{latency}ms"
                results["memoryRatio" + suffix] = round(ratio, 3)
                results["memoryRatioOfHighest" + suffix] = round(ratio_max, 3)
                results["memoryHighest2GMB" + suffix] = round(highest["2G"] / 1024)
                # Peaks move in steps of one body buffer (which of them a run touches depends on
                # timing), so both statistics are shown.
                print(f"    → answers after {latency} ms: peak RSS 2G / 200M: medians {ratio:.2f}, highest {ratio_max:.2f}; "
                      f"highest 2G peak {highest['2G'] / 1024:.0f} MB", flush=True)
            finally:
                emu.stop()
        bound = 5 * 25_000_000 / 1e6 + 30
        print(f"    (the pool bound at concurrency 4: 5 bodies of 25 MB plus about 30 MB, about {bound:.0f} MB)", flush=True)

    os.makedirs(os.path.join(BENCH, "results"), exist_ok=True)
    with open(os.path.join(BENCH, "results", "only.json" if only else "latest.json"), "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
