#!/usr/bin/env python3
"""Adaptive concurrency and DCR quotas, release build (issue 13 items 5-7).

  bench/concurrency.py                 # both parts
  bench/concurrency.py --size-mb 100   # input size of the concurrency part
  bench/concurrency.py --runs 3        # interleaved rounds (default 5); medians are reported

Part 1: `logship run` into `logship emulate --latency-ms 100 --discard` (Logs Ingestion, gzip,
1 MB bodies) with upload.concurrency "auto" (the default) and fixed 4, 16, 64: MB/s of input
peak RSS of logship, and the concurrency the run reached; auto's ratio to the best fixed
setting of the same round.
Part 2: the same against a scaled-down quota (`--dcr-requests-per-minute R --quota-window-ms W`,
so R requests per W ms per DCR) with one DCR and with two: requests accepted per second
against the quota, 429s, dead letters.
"""
import argparse, json, os, shutil, statistics, subprocess, tempfile, time, urllib.request, uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOGSHIP = os.environ.get("LOGSHIP_BIN") or os.path.join(ROOT, ".build", "release", "logship")


def write_input(path, mb):
    pad = "x" * 120
    with open(path, "w") as f:
        i, n = 0, 0
        while n < mb * 1_000_000:
            line = '{"seq":%d,"level":"info","msg":"request %d served","user":"u%d","pad":"%s"}\n' % (i, i, i % 977, pad)
            f.write(line)
            n += len(line)
            i += 1


class Emulator:
    def __init__(self, args):
        self.dir = tempfile.mkdtemp(prefix="logship-bench-quota-")
        self.tenant, self.client, self.secret = str(uuid.uuid4()), str(uuid.uuid4()), "bench-secret"
        self.proc = subprocess.Popen(
            [LOGSHIP, "emulate", "--port", "0", "--discard", "--data-dir", self.dir, "--tenant-id", self.tenant,
             "--client-id", self.client, "--client-secret", self.secret] + args,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode().strip()
        if not line.startswith("listening on "):
            raise SystemExit(f"emulator did not start: {line}")
        self.url = line[len("listening on "):]

    def env(self):
        e = dict(os.environ)
        e.update(LOGSHIP_TENANT_ID=self.tenant, LOGSHIP_CLIENT_ID=self.client, LOGSHIP_CLIENT_SECRET=self.secret,
                 AZURE_AUTHORITY_HOST=self.url)
        return e

    def stats(self):
        with urllib.request.urlopen(self.url + "/_emulator/stats") as r:
            return json.load(r)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


def pipeline(d, data, concurrency, dcrs, max_body=1_000_000):
    p = os.path.join(d, "p.json5")
    with open(p, "w") as f:
        f.write(json.dumps({
            "version": 1, "name": "bench", "source": {"files": [data], "format": "ndjson"},
            "limits": {"maxBodyBytes": max_body},
            "upload": {"concurrency": concurrency, "maxAttempts": 3},
            "target": {"api": "logs-ingestion", "endpoint": "http://127.0.0.1:9", "dcrImmutableId": dcrs,
                       "stream": "Custom-Bench"}}))
    return p


def run(emu, d, data, concurrency, dcrs, max_body=1_000_000):
    """One `logship run`: (seconds, peak RSS in KB of that process alone, exit code, its report)."""
    p = pipeline(d, data, concurrency, dcrs, max_body)
    state = tempfile.mkdtemp(prefix="logship-bench-state-", dir=d)
    t0 = time.perf_counter()
    proc = subprocess.Popen([LOGSHIP, "run", p, "--endpoint", emu.url, "--state-dir", state, "--progress", "none"],
                            env=emu.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    secs = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    rep = json.load(open(os.path.join(state, "last-run.json")))
    shutil.rmtree(state, ignore_errors=True)
    return secs, usage.ru_maxrss, proc.returncode, rep


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mb", type=int, default=200)
    ap.add_argument("--runs", type=int, default=5, help="interleaved rounds; medians are reported")
    ap.add_argument("--quota-size-mb", type=int, default=30)
    ap.add_argument("--quota-body", type=int, default=100_000, help="limits.maxBodyBytes of part 2")
    ap.add_argument("--skip-concurrency", action="store_true")
    ap.add_argument("--skip-quota", action="store_true")
    ap.add_argument("--requests", type=int, default=20, help="requests per window per DCR (part 2)")
    ap.add_argument("--window-ms", type=int, default=2000)
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="logship-bench-conc-")
    try:
        data = os.path.join(d, "in.ndjson")
        write_input(data, a.size_mb)
        settings = ["auto", 4, 16, 64]
        print(f"load at start: {open('/proc/loadavg').read().split()[:3]} on {os.cpu_count()} cores", flush=True)
        if not a.skip_concurrency:
            emu = Emulator(["--latency-ms", "100"])
            rows = {c: [] for c in settings}
            ratios = []
            try:
                for k in range(a.runs):
                    # Rotated each round, so no setting always runs first (or after the same one).
                    order = settings[k % len(settings):] + settings[:k % len(settings)]
                    got = {}
                    for c in order:
                        secs, rss, rc, rep = run(emu, d, data, c, "dcr-bench")
                        got[c] = a.size_mb / secs
                        rows[c].append((secs, a.size_mb / secs, rss / 1024, rc, rep.get("concurrencyReached")))
                        print(f"  round {k + 1}: {c}: {secs:.2f} s, {a.size_mb / secs:.1f} MB/s, "
                              f"peak RSS {rss / 1024:.0f} MB, concurrency reached {rep.get('concurrencyReached')}, "
                              f"exit {rc}", flush=True)
                    ratios.append(got["auto"] / max(got[c] for c in settings if c != "auto"))
            finally:
                emu.stop()
            print(f"\nload after part 1: {open('/proc/loadavg').read().split()[:3]}; medians of {a.runs} rounds\n")
            print("| upload.concurrency | seconds | MB/s | peak RSS (MB) | concurrency reached | exits |")
            print("|---|---|---|---|---|---|")
            for c in settings:
                r = rows[c]
                print(f"| {c} | {median([x[0] for x in r]):.2f} | {median([x[1] for x in r]):.1f} | "
                      f"{median([x[2] for x in r]):.0f} (max {max(x[2] for x in r):.0f}) | "
                      f"{median([x[4] or 0 for x in r]):.0f} | {sorted(set(x[3] for x in r))} |")
            print(f"\nauto / best fixed of the same round: median {median(ratios):.2f} "
                  f"(rounds: {', '.join(f'{x:.2f}' for x in ratios)})", flush=True)
        if a.skip_quota:
            return
        os.remove(data)
        write_input(data, a.quota_size_mb)
        per_s = a.requests * 1000 / a.window_ms
        load = open('/proc/loadavg').read().split()[:3]
        print(f"\nquota: {a.requests} requests per {a.window_ms} ms per DCR = {per_s:.1f} requests/s per DCR; "
              f"{a.quota_size_mb} MB in bodies of {a.quota_body} bytes; load {load}\n")
        rows = {1: [], 2: []}
        for k in range(a.runs):
            for dcrs in [["dcr-one"], ["dcr-one", "dcr-two"]]:
                emu = Emulator(["--dcr-requests-per-minute", str(a.requests), "--quota-window-ms", str(a.window_ms)])
                try:
                    secs, _, rc, rep = run(emu, d, data, "auto", dcrs, a.quota_body)
                    s = emu.stats()
                finally:
                    emu.stop()
                accepted = sum(q["accepted"] for q in s.get("quota", {}).values())
                rate = accepted / secs
                share = 100 * rate / (per_s * len(dcrs))
                row = (secs, accepted, rate, share, s.get("throttled", 0), rep.get("chunksDeadLettered"), rc)
                rows[len(dcrs)].append(row)
                print(f"  round {k + 1}: {len(dcrs)} DCR(s): {secs:.1f} s, {accepted} accepted, {rate:.2f}/s, "
                      f"{share:.0f} % of the quota, {row[4]} 429s, {row[5]} dead letters, exit {rc}", flush=True)
        print(f"\nload after part 2: {open('/proc/loadavg').read().split()[:3]}; medians of {a.runs} rounds\n")
        print("| DCRs | seconds | requests accepted | accepted/s | % of quota | 429s | dead letters | exits |")
        print("|---|---|---|---|---|---|---|---|")
        for n, r in rows.items():
            print(f"| {n} | {median([x[0] for x in r]):.1f} | {median([x[1] for x in r]):.0f} | "
                  f"{median([x[2] for x in r]):.2f} | {median([x[3] for x in r]):.0f} "
                  f"(lowest {min(x[3] for x in r):.0f}) | "
                  f"{median([x[4] for x in r]):.0f} (most {max(x[4] for x in r)}) | "
                  f"{max(x[5] or 0 for x in r)} | {sorted(set(x[6] for x in r))} |")
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
