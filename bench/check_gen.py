#!/usr/bin/env python3
"""Self-checks for bench/gen.py (stdlib only; needs zcat on PATH).

    bench/check_gen.py [--size 20M] [--dir bench/data/check] [--keep]

Generates every kind at --size into --dir (default bench/data/check, which git
ignores) and verifies:
  * size: whole records, <= SIZE, short of SIZE by less than one record;
  * determinism: a second run gives identical bytes; a smaller SIZE is a prefix;
  * ndjson: every line json.loads to an object, seq = 0..N-1, field count,
    unique GUID request ids, strictly increasing ISO 8601 timestamps, the
    promised mix (non-ASCII ~5 %, nulls, nested geo, \\" \\\\ \\n escapes);
  * csv: csv.DictReader reads N rows, ids 1..N unique, 12 columns, quoted notes
    with commas, quotes and embedded newlines, LF line ends only;
  * nginx: every line matches nginx-combined, rid = 0..N-1, IPv6 present;
  * syslog: every line matches RFC 3164 with PRI, some tags without PID;
  * gzip: single- and multi-member files decompress (zcat and Python gzip) to the
    same bytes as the plain file, have the requested number of members, and are
    deterministic.
Exit status 0 when everything passes.
"""
import argparse
import csv
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "gen.py")

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)
    return cond


def run_gen(*args):
    p = subprocess.run([sys.executable, GEN, *args], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"gen.py {' '.join(args)} failed:\n{p.stderr}")
    line = [l for l in p.stderr.splitlines() if l.startswith("gen: kind=")][-1]
    info = dict(kv.split("=", 1) for kv in line[len("gen: "):].split())
    print(f"     {' '.join(args)}  ->  {line}")
    return info


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_cmd(cmd):
    h = hashlib.sha256()
    with subprocess.Popen(cmd, stdout=subprocess.PIPE) as p:
        for chunk in iter(lambda: p.stdout.read(1 << 20), b""):
            h.update(chunk)
    check(p.returncode == 0, f"{' '.join(cmd)} exits 0")
    return h.hexdigest()


def gzip_members(path):
    with open(path, "rb") as f:
        data = f.read()
    members = []  # (first 16 bytes, last byte) of each member's content
    while data:
        d = zlib.decompressobj(31)
        out = d.decompress(data)
        if not d.eof:
            raise ValueError("truncated gzip member")
        data = d.unused_data
        members.append((out[:16], out[-1:]))
    return members


def check_size(kind, path, info, size, max_record):
    n = os.path.getsize(path)
    check(n == int(info["bytes"]) and n <= size and size - n < max_record,
          f"{kind}: {n} bytes <= {size} and within one record ({max_record} B) of it")


GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def check_ndjson(path, info, size):
    n = int(info["records"])
    seqs_ok = True
    ts_ok = True
    prev_ts = ""
    rids = set()
    guid_ok = True
    nonascii = nulls = escapes = 0
    field_counts = set()
    longest = 0
    geo_ok = True
    with open(path, "rb") as f:
        for i, raw in enumerate(f):
            longest = max(longest, len(raw))
            rec = json.loads(raw)
            if not isinstance(rec, dict) or rec.get("seq") != i:
                seqs_ok = False
                break
            field_counts.add(len(rec))
            ts = rec["timestamp"]
            if not ISO.match(ts) or ts <= prev_ts:
                ts_ok = False
            prev_ts = ts
            rid = rec["request_id"]
            if not GUID.match(rid):
                guid_ok = False
            rids.add(rid)
            if not raw.isascii() or b"\\u" in raw:
                nonascii += 1
            if None in rec.values():
                nulls += 1
            if b'\\"' in raw or b"\\\\" in raw or b"\\n" in raw:
                escapes += 1
            g = rec.get("geo")
            if not (isinstance(g, dict) and "country" in g and "city" in g):
                geo_ok = False
            if not isinstance(rec.get("cache_hit"), bool):
                geo_ok = False
    lines = i + 1
    check(seqs_ok and lines == n, f"ndjson: {lines} lines parse with json.loads, seq = 0..{n - 1} consecutive")
    check(ts_ok, "ndjson: timestamps ISO 8601 with ms and Z, strictly increasing")
    check(guid_ok and len(rids) == n, "ndjson: request_id is a v4-shaped GUID, all unique")
    check(field_counts <= set(range(12, 17)), f"ndjson: 12-16 fields per record (saw {sorted(field_counts)})")
    check(geo_ok, "ndjson: nested geo object and boolean cache_hit in every record")
    avg = size / max(n, 1)
    check(300 <= avg <= 400, f"ndjson: average line {avg:.0f} bytes (300-400)")
    check(0.03 <= nonascii / n <= 0.08, f"ndjson: non-ASCII records {100 * nonascii / n:.1f} % (~5 %)")
    check(0 < nulls < n, f"ndjson: some nulls ({100 * nulls / n:.1f} %)")
    check(0 < escapes < n * 0.1, f"ndjson: some \\\" \\\\ \\n escapes ({100 * escapes / n:.1f} %)")
    check_size("ndjson", path, info, size, longest)


CSV_COLUMNS = ["id", "created_at", "customer_id", "email", "sku", "quantity", "amount", "currency",
               "status", "country", "note", "is_gift"]


def check_csv(path, info, size):
    n = int(info["records"])
    with open(path, "rb") as f:
        data = f.read()
    check(b"\r" not in data and data.endswith(b"\n"), "csv: LF line ends only")
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        check(reader.fieldnames == CSV_COLUMNS, f"csv: header has the 12 columns {CSV_COLUMNS}")
        ids = []
        notes_nl = notes_comma = notes_quote = 0
        shape_ok = True
        for row in reader:
            ids.append(row["id"])
            note = row["note"]
            notes_nl += "\n" in note
            notes_comma += "," in note
            notes_quote += '"' in note
            if None in row or not ISO.match(row["created_at"]) or not re.fullmatch(r"\d+\.\d\d", row["amount"]):
                shape_ok = False
    check(len(ids) == n, f"csv: DictReader reads {len(ids)} rows (gen says {n})")
    check(ids == [str(i) for i in range(1, n + 1)], "csv: id = 1..N, unique and consecutive")
    check(shape_ok, "csv: every row has 12 fields, ISO created_at, amount with 2 decimals")
    check(notes_nl and notes_comma and notes_quote,
          f"csv: notes with embedded newline ({notes_nl}), comma ({notes_comma}), quote ({notes_quote})")
    physical = data.count(b"\n")
    check(physical > n + 1, f"csv: {physical} physical lines > {n + 1} records+header (quoted newlines)")
    longest = max(len(l) for l in data.split(b"\n")) * 2 + 2
    check_size("csv", path, info, size, longest)


NGINX = re.compile(
    r'^(?P<addr>[0-9a-f.:]+) - (?P<user>\S+) \[(?P<time>\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000)\] '
    r'"(?P<method>[A-Z]+) (?P<target>\S+) (?P<proto>HTTP/[12]\.[01])" (?P<status>\d{3}) (?P<bytes>\d+) '
    r'"(?P<referer>[^"]*)" "(?P<ua>[^"]*)"$')


def check_nginx(path, info, size):
    n = int(info["records"])
    ok = True
    rid_ok = True
    v6 = 0
    statuses = set()
    longest = 0
    with open(path, encoding="utf-8", newline="") as f:
        for i, line in enumerate(f):
            longest = max(longest, len(line.encode()))
            m = NGINX.match(line.rstrip("\n"))
            if not m:
                ok = False
                print("     bad line:", line[:200])
                break
            if not re.search(r"[?&]rid=%d$" % i, m["target"]):
                rid_ok = False
            v6 += ":" in m["addr"]
            statuses.add(m["status"])
    check(ok and i + 1 == n, f"nginx: {i + 1} lines match nginx-combined")
    check(rid_ok, "nginx: request target ends with rid=<line number>, unique")
    check(0 < v6 < n, f"nginx: some IPv6 clients ({100 * v6 / n:.1f} %)")
    check({"200", "301", "404", "500"} <= statuses, f"nginx: statuses include 200/301/404/500 ({sorted(statuses)})")
    check_size("nginx", path, info, size, longest)


SYSLOG = re.compile(r"^<(?P<pri>\d{1,3})>(?P<ts>[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d) (?P<host>\S+) "
                    r"(?P<tag>[A-Za-z0-9/_-]+)(?:\[(?P<pid>\d+)\])?: (?P<msg>.*)$")


def check_syslog(path, info, size):
    n = int(info["records"])
    ok = True
    nopid = 0
    longest = 0
    with open(path, encoding="utf-8", newline="") as f:
        for i, line in enumerate(f):
            longest = max(longest, len(line.encode()))
            m = SYSLOG.match(line.rstrip("\n"))
            if not m or int(m["pri"]) > 191:
                ok = False
                print("     bad line:", line[:200])
                break
            nopid += m["pid"] is None
    check(ok and i + 1 == n, f"syslog: {i + 1} lines match RFC 3164 with PRI")
    check(0 < nopid < n, f"syslog: some lines without PID ({100 * nopid / n:.1f} %)")
    check_size("syslog", path, info, size, longest)


def parse_size(text):
    sys.path.insert(0, HERE)
    import gen  # noqa: E402
    return gen.parse_size(text)


def main():
    ap = argparse.ArgumentParser(description="Self-checks for bench/gen.py")
    ap.add_argument("--size", default="20M")
    ap.add_argument("--dir", default=os.path.join(HERE, "data", "check"))
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    args = ap.parse_args()
    size = parse_size(args.size)
    small = max(size // 10, 100_000)
    os.makedirs(args.dir, exist_ok=True)
    p = lambda name: os.path.join(args.dir, name)  # noqa: E731

    plain = {}
    for kind, checker in [("ndjson", check_ndjson), ("csv", check_csv), ("nginx", check_nginx), ("syslog", check_syslog)]:
        print(f"== {kind}")
        info = run_gen(kind, "--size", args.size, "--out", p(f"{kind}.txt"))
        checker(p(f"{kind}.txt"), info, size)
        plain[kind] = sha256_file(p(f"{kind}.txt"))
        run_gen(kind, "--size", args.size, "--out", p(f"{kind}.again.txt"))
        check(sha256_file(p(f"{kind}.again.txt")) == plain[kind], f"{kind}: deterministic (second run identical)")
        run_gen(kind, "--size", str(small), "--out", p(f"{kind}.small.txt"))
        with open(p(f"{kind}.small.txt"), "rb") as a, open(p(f"{kind}.txt"), "rb") as b:
            s = a.read()
            check(b.read(len(s)) == s, f"{kind}: {small}-byte output is a prefix of the {size}-byte output")
        run_gen(kind, "--size", args.size, "--seed", "2", "--out", p(f"{kind}.seed2.txt"))
        check(sha256_file(p(f"{kind}.seed2.txt")) != plain[kind], f"{kind}: another seed gives other data")
        for name in (f"{kind}.again.txt", f"{kind}.small.txt", f"{kind}.seed2.txt"):
            os.unlink(p(name))

    print("== gzip")
    for kind, members in [("ndjson", 1), ("ndjson", 4), ("csv", 3), ("nginx", 1), ("syslog", 5)]:
        out = p(f"{kind}.m{members}.gz")
        extra = ["--members", str(members)] if members > 1 else []
        info = run_gen(kind, "--size", args.size, "--gzip", *extra, "--out", out)
        parts = gzip_members(out)
        check(len(parts) == members == int(info["members"]), f"{kind} gzip: {members} member(s)")
        check(all(last == b"\n" for _, last in parts), f"{kind} gzip: every member ends with a whole record")
        if kind == "ndjson":
            check(all(first.startswith(b'{"seq":') for first, _ in parts), "ndjson gzip: every member starts a record")
        check(sha256_cmd(["zcat", out]) == plain[kind], f"{kind} gzip x{members}: zcat == plain bytes")
        h = hashlib.sha256()
        with gzip.open(out, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        check(h.hexdigest() == plain[kind], f"{kind} gzip x{members}: Python gzip.open == plain bytes")
        with open(out, "rb") as f:
            check(f.read(2) == b"\x1f\x8b", f"{kind} gzip: gzip magic")
        if kind == "ndjson" and members == 4:
            run_gen(kind, "--size", args.size, "--gzip", *extra, "--out", out + ".again")
            check(sha256_file(out + ".again") == sha256_file(out), "ndjson gzip x4: deterministic")
            os.unlink(out + ".again")

    if not args.keep:
        shutil.rmtree(args.dir)
    print()
    if failures:
        print(f"{len(failures)} check(s) FAILED:")
        for f in failures:
            print("  -", f)
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
