#!/usr/bin/env python3
"""Deterministic benchmark input generator for logship (stdlib only).

    bench/gen.py KIND --size SIZE --out FILE [--seed N] [--gzip] [--members K]

KIND   ndjson | csv | nginx | syslog
SIZE   bytes of *uncompressed* output. Decimal suffixes: 20M = 20,000,000,
       2G = 2,000,000,000 (K/M/G = 10^3/10^6/10^9). Binary suffixes KiB/MiB/GiB
       (or Ki/Mi/Gi) are accepted too. The file holds whole records only: it
       stops at the last record that fits, so it is <= SIZE and short of SIZE by
       less than one record.
--seed   default 1. Same arguments -> byte-identical output.
--gzip   write gzip (zlib level 6, header mtime 0, no file name).
--members K  with --gzip: K concatenated gzip members, split at record
       boundaries every ~SIZE/K uncompressed bytes (like `cat a.gz b.gz`).
       Decompressed, it is byte-identical to the plain file.

Properties tests can rely on:
  * ndjson: every line is one JSON object with "seq" = 0, 1, 2, ... (first key).
  * csv:    header line, then rows with "id" = 1, 2, 3, ... (seq + 1); LF line
            ends (csv module, lineterminator "\\n"); some notes contain an
            embedded newline inside quotes, so rows != physical lines.
  * nginx:  every request target carries a query parameter "rid=<seq>" (last
            parameter), seq = 0, 1, 2, ...
  * syslog: RFC 3164 lines; not guaranteed unique.
  * Output for a smaller SIZE is a byte prefix of the output for a larger SIZE
    (same kind and seed).
  * Timestamps: fixed base 2026-10-10T00:00:00Z (syslog: 2026-09-30T22:00:00Z,
    so it crosses into "Oct  1") plus seq * step + a per-record jitter smaller
    than step, so they are strictly increasing (second resolution for
    nginx/syslog, so there they are non-decreasing). Steps: ndjson 37 ms,
    csv 53 ms, nginx 23 ms, syslog 61 ms.

How it stays fast: records are built from a pool of POOL_SIZE varied templates
(created lazily in order, from random.Random(f"{kind}:{seed}")) and cycled
through in a different permutation each cycle; only the unique fields (seq/id,
timestamp, request id) are patched per record. Compression runs in a writer
thread (zlib releases the GIL), so generation and gzip overlap on 2 cores.

A one-line summary goes to stderr:
  gen: kind=ndjson seed=1 records=N bytes=B out_bytes=O members=K seconds=S
"""
import argparse
import calendar
import csv
import io
import json
import os
import queue
import random
import re
import sys
import threading
import time
import zlib

POOL_SIZE = 50_000
BATCH = 8192
BASE_EPOCH_MS = calendar.timegm((2026, 10, 10, 0, 0, 0)) * 1000
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


# --------------------------------------------------------------------------- #
# Shared vocabulary
# --------------------------------------------------------------------------- #

USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.6668.70 Mobile Safari/537.36",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "ShopApp/5.12.1 (iPhone; iOS 17.6.1; Scale/3.00)",
    "ShopApp/5.12.0 (Android 14; Pixel 8)",
    "Dalvik/2.1.0 (Linux; U; Android 14; SM-S918B Build/UP1A.231005.007)",
    "okhttp/4.12.0",
    "axios/1.7.7",
    "curl/8.5.0",
    "python-requests/2.32.3",
    "Go-http-client/2.0",
]
# Mostly API traffic from the mobile app, browsers next, scripts and bots less so.
UA_WEIGHTS = [6, 3, 3, 2, 3, 2, 24, 16, 5, 12, 7, 5, 5, 7]
PROBE_AGENTS = {"/healthz": ["kube-probe/1.30", "ELB-HealthChecker/2.0"], "/metrics": ["Prometheus/2.54.1"]}


def user_agent(rng, path):
    probes = PROBE_AGENTS.get(path)
    if probes:
        return rng.choice(probes)
    return rng.choices(USER_AGENTS, UA_WEIGHTS)[0]

GEO_ASCII = [
    ("US", "New York"), ("US", "Seattle"), ("US", "Austin"), ("DE", "Berlin"), ("DE", "Hamburg"),
    ("GB", "London"), ("GB", "Manchester"), ("FR", "Paris"), ("NL", "Amsterdam"), ("IE", "Dublin"),
    ("IN", "Bangalore"), ("AU", "Sydney"), ("CA", "Toronto"), ("BR", "Rio de Janeiro"),
    ("SG", "Singapore"), ("ES", "Madrid"), ("IT", "Milan"), ("SE", "Stockholm"),
]
GEO_INTL = [
    ("DE", "Köln"), ("DE", "München"), ("CH", "Zürich"), ("BR", "São Paulo"), ("PL", "Kraków"),
    ("SE", "Malmö"), ("CA", "Montréal"), ("IS", "Reykjavík"), ("JP", "東京"), ("CN", "北京"),
    ("KR", "서울"), ("FR", "Orléans"), ("TR", "İstanbul"), ("RU", "Москва"), ("ES", "A Coruña"),
]
SEARCH_TERMS = ["red shoes", "usb c cable", "winter jacket", "coffee grinder", "lego", "desk lamp",
                "running socks", "gift card", "headphones", "4k monitor", "yoga mat", "backpack"]
SLUGS = ["classic-white-sneaker", "merino-wool-beanie", "steel-water-bottle-750ml", "noise-cancelling-headphones",
         "ergonomic-office-chair", "cast-iron-skillet-28cm", "wireless-charger-15w", "trail-running-shoe"]
FIRST = ["anna", "ben", "carla", "david", "eva", "felix", "grace", "hugo", "ines", "jonas", "kim", "lena",
         "mia", "noah", "olga", "paul", "rosa", "sam", "tara", "umar", "vera", "will", "yuki", "zoe"]
LAST = ["mueller", "smith", "garcia", "nguyen", "schmidt", "brown", "rossi", "kowalski", "tanaka", "silva",
        "dubois", "jensen", "oconnor", "patel", "novak", "haddad"]


def weighted(rng, items, weights):
    return rng.choices(items, weights)[0]


class ClientPool:
    """A few thousand clients with a skewed popularity (repeat visitors), ~15 % IPv6."""

    def __init__(self, rng, n=4000):
        self.ips = []
        for _ in range(n):
            if rng.random() < 0.15:
                groups = ["2001", "db8", f"{rng.randrange(0x10000):x}", f"{rng.randrange(0x10000):x}"]
                if rng.random() < 0.5:
                    ip = ":".join(groups) + "::" + f"{rng.randrange(1, 0x10000):x}"
                else:
                    ip = ":".join(groups + [f"{rng.randrange(0x10000):x}" for _ in range(4)])
                self.ips.append(ip)
            else:
                first = rng.choice([10, 23, 31, 45, 52, 66, 78, 81, 89, 92, 104, 141, 172, 185, 192, 203, 212])
                self.ips.append(f"{first}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}")
        # Zipf-ish weights: client k has weight 1/(k+1)^0.8.
        self.cum = []
        acc = 0.0
        for k in range(n):
            acc += 1.0 / (k + 1) ** 0.8
            self.cum.append(acc)

    def pick(self, rng):
        return rng.choices(self.ips, cum_weights=self.cum)[0]


def http_request(rng):
    """(method, path) for a typical shop/web API."""
    r = rng.random()
    if r < 0.22:
        return "GET", f"/api/v1/products/{rng.randrange(1, 250000)}"
    if r < 0.32:
        return "GET", f"/products/{rng.choice(SLUGS)}"
    if r < 0.42:
        term = rng.choice(SEARCH_TERMS).replace(" ", "+")
        return "GET", f"/search?q={term}&page={rng.randrange(1, 6)}"
    if r < 0.56:
        kind = rng.choice(["js/app", "js/vendor", "css/main"])
        ext = "css" if kind.startswith("css") else "js"
        return "GET", f"/static/{kind}.{rng.getrandbits(32):08x}.{ext}"
    if r < 0.63:
        return "GET", f"/images/products/{rng.randrange(1, 250000)}-{rng.choice(['400', '800', '1600'])}w.webp"
    if r < 0.70:
        return "POST", "/api/v2/cart/items"
    if r < 0.74:
        return "POST", f"/api/v1/orders/{rng.randrange(1, 9_000_000)}/payments"
    if r < 0.78:
        return "GET", f"/api/v1/users/{rng.randrange(1, 800000)}/profile"
    if r < 0.80:
        return rng.choice(["PUT", "PATCH"]), f"/api/v1/users/{rng.randrange(1, 800000)}/addresses/{rng.randrange(1, 4)}"
    if r < 0.81:
        return "DELETE", f"/api/v2/cart/items/{rng.randrange(1, 90000)}"
    if r < 0.84:
        return "POST", "/login"
    if r < 0.90:
        return "GET", rng.choice(["/", "/checkout", "/account/orders", "/favicon.ico", "/robots.txt"])
    if r < 0.95:
        return "GET", "/healthz"
    return "GET", "/metrics"


STATUSES = [200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 429, 499, 500, 502, 503]
STATUS_WEIGHTS = [780, 25, 15, 20, 10, 40, 10, 10, 5, 45, 5, 5, 6, 2, 2]


def body_bytes(rng, status, path):
    if status in (204, 304):
        return 0
    if status in (301, 302):
        return rng.randrange(150, 190)
    if status >= 400:
        return rng.randrange(120, 600)
    if path.startswith("/static/"):
        return rng.randrange(20_000, 900_000)
    if path.startswith("/images/"):
        return rng.randrange(8_000, 400_000)
    if path in ("/healthz",):
        return 2
    return int(rng.lognormvariate(7.5, 1.0))


# --------------------------------------------------------------------------- #
# Time formatting with a one-second cache (formatting is done per second, not per line)
# --------------------------------------------------------------------------- #

class SecondCache:
    __slots__ = ("fmt", "sec", "text")

    def __init__(self, fmt):
        self.fmt = fmt
        self.sec = None
        self.text = ""

    def get(self, sec):
        if sec != self.sec:
            self.sec = sec
            self.text = self.fmt(time.gmtime(sec))
        return self.text


def fmt_iso_prefix(t):  # "2026-10-10T13:55:36."
    return f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}."


def fmt_nginx(t):  # "10/Oct/2026:13:55:36 +0000"
    return f"{t.tm_mday:02d}/{MONTHS[t.tm_mon - 1]}/{t.tm_year:04d}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"


def fmt_3164(t):  # "Oct 11 22:14:15", day space-padded
    return f"{MONTHS[t.tm_mon - 1]} {t.tm_mday:2d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"


# --------------------------------------------------------------------------- #
# Kinds. Each keeps a lazily filled pool of templates and renders batches.
# --------------------------------------------------------------------------- #

class Kind:
    header = ""
    step_ms = 37  # average spacing between records
    base_ms = BASE_EPOCH_MS

    def __init__(self, seed):
        self.rng = random.Random(f"{self.name}:{seed}")
        self.pool = []
        perm_rng = random.Random(f"{self.name}:{seed}:perm")
        # Cycle c >= 1 visits the pool as (j * stride + offset) % POOL_SIZE; strides coprime to POOL_SIZE.
        self.perms = []
        while len(self.perms) < 64:
            s = perm_rng.randrange(1, POOL_SIZE)
            if s % 2 and s % 5:
                self.perms.append((s, perm_rng.randrange(POOL_SIZE)))
        self.setup()

    def setup(self):
        pass

    def indices(self, start, n):
        """Pool indices for records start .. start+n-1 (fills the pool on the first cycle)."""
        out = []
        seq = start
        end = start + n
        while seq < end:
            cycle, j = divmod(seq, POOL_SIZE)
            k = min(end - seq, POOL_SIZE - j)
            if cycle == 0:
                while len(self.pool) < j + k:
                    self.pool.append(self.make_entry(self.rng))
                out.extend(range(j, j + k))
            else:
                s, o = self.perms[cycle % len(self.perms)]
                out.extend([(x * s + o) % POOL_SIZE for x in range(j, j + k)])
            seq += k
        return out


TOK = {"seq": "@@SEQ@@", "ts": "@@TS@@", "rid": "@@RID@@"}

ASCII_MESSAGES = [
    "completed",
    "completed",
    "completed",
    "completed",
    "served from cache",
    "upstream ok",
    "session refreshed",
    "cart updated",
    "token validated",
]
ERROR_MESSAGES = [
    "upstream timed out (110: Connection timed out) while reading response header from upstream",
    "connect() failed (111: Connection refused) while connecting to upstream",
    "payment provider returned HTTP 502",
    "database pool exhausted after 5000 ms",
]
ESCAPE_MESSAGES = [
    'search for "red shoes" returned 0 results',
    'invalid JSON in body: unexpected token \'}\' near "qty": }',
    "failed to open C:\\inetpub\\logs\\LogFiles\\W3SVC1\\u_ex261010.log",
    "unhandled exception: NullReferenceException\n   at Shop.Orders.Submit(Order o) in OrderService.cs:line 142\n   at Shop.Api.OrdersController.Post()",
    'header X-Forwarded-For was "10.0.0.7, \\"proxy\\"" and was rejected',
    "retrying\ttab-separated\tpayload line 1\nline 2",
]
INTL_MESSAGES = [
    "Bestellung für Müller bestätigt",
    "注文が確定しました",
    "支付成功 ✅",
    "Paiement refusé : carte expirée",
    "deploy finished 🚀",
    "Überweisung eingegangen 💶",
    "Заказ отправлен",
    "주문이 접수되었습니다",
    "café ☕ order ready",
    "user reacted 👍🏽 to review",
]


class NDJSON(Kind):
    name = "ndjson"
    step_ms = 37

    def setup(self):
        self.clients = ClientPool(random.Random(f"ndjson:{self.rng.random()}:clients"))
        self.iso = SecondCache(fmt_iso_prefix)
        mul = self.rng.getrandbits(48) | 1  # odd -> bijection on 48 bits
        self.rid_mul = mul
        self.rid_add = self.rng.getrandbits(48)

    def make_entry(self, rng):
        intl = rng.random() < 0.05
        method, path = http_request(rng)
        status = weighted(rng, STATUSES, STATUS_WEIGHTS)
        if method == "POST" and status == 200 and rng.random() < 0.5:
            status = 201
        if path.startswith("/static/") or path.startswith("/images/"):
            duration = rng.uniform(0.2, 8.0)
        else:
            duration = rng.lognormvariate(3.0, 0.9)
        if status in (499, 502, 503, 504):
            duration = rng.uniform(5000, 60000)
        duration = round(duration, 3)
        country, city = rng.choice(GEO_INTL if intl else GEO_ASCII)
        if intl:
            message = rng.choice(INTL_MESSAGES)
        elif status >= 500:
            message = rng.choice(ERROR_MESSAGES)
        elif rng.random() < 0.03:
            message = rng.choice(ESCAPE_MESSAGES)
        else:
            message = rng.choice(ASCII_MESSAGES)
        user_id = None if rng.random() < 0.25 else f"u-{rng.randrange(1, 800000):06d}"
        rec = {
            "seq": TOK["seq"],
            "timestamp": TOK["ts"],
            "client_ip": self.clients.pick(rng),
            "method": method,
            "path": path,
            "status": status,
            "bytes": body_bytes(rng, status, path),
            "duration_ms": duration,
            "user_agent": user_agent(rng, path),
            "request_id": TOK["rid"],
            "user_id": user_id,
            "geo": {"country": country, "city": city},
            "cache_hit": rng.random() < 0.35,
            "message": message,
        }
        # Some producers escape non-ASCII as \\uXXXX (incl. surrogate pairs for emoji).
        ensure_ascii = intl and rng.random() < 0.2
        text = json.dumps(rec, ensure_ascii=ensure_ascii, separators=(",", ":"))
        a, rest = text.split(f'"{TOK["seq"]}"')
        b, rest = rest.split(f'"{TOK["ts"]}"')
        c, d = rest.split(f'"{TOK["rid"]}"')
        g = rng.getrandbits(64)
        # GUID v4 layout; the last 12 hex digits are patched per record from seq (unique).
        rid_prefix = f"{g >> 32:08x}-{(g >> 16) & 0xFFFF:04x}-4{(g >> 4) & 0xFFF:03x}-{8 + (g & 3):x}{(g >> 48) & 0xFFF:03x}-"
        return (a, b + '"', '"' + c + '"' + rid_prefix, '"' + d + "\n", rng.randrange(self.step_ms))

    def render(self, start, n):
        pool = self.pool
        iso = self.iso
        step = self.step_ms
        base = self.base_ms
        mul, add = self.rid_mul, self.rid_add
        mask = (1 << 48) - 1
        out = []
        append = out.append
        seq = start
        for idx in self.indices(start, n):
            a, b, c, d, jitter = pool[idx]
            ms = base + seq * step + jitter
            sec, frac = divmod(ms, 1000)
            append(f"{a}{seq}{b}{iso.get(sec)}{frac:03d}Z{c}{(seq * mul + add) & mask:012x}{d}")
            seq += 1
        return out


NOTES_ASCII = [
    "Leave at the back door, please",
    'Customer says "urgent", call first',
    "Gift wrap, no receipt",
    "Call before delivery\nGate code 4412",
    "Replacement for order 88123, damaged in transit",
    "Paid by invoice; net 30",
    "Address line 2: Suite 400, Floor 3",
    'Backordered item "SKU-7781" ships separately',
    "VIP",
    "Return requested, reason: wrong size",
]
NOTES_INTL = [
    "Rückruf erbeten, Lieferung nach Köln",
    "配送前に電話してください",
    "Entrega em São Paulo, portão 2",
    "Merci ! Livraison rapide 🚚",
    "请在下午送货",
    "Geschenk 🎁, bitte \"ohne\" Rechnung",
]
STATUS_CSV = ["paid", "paid", "paid", "shipped", "shipped", "delivered", "delivered", "delivered",
              "pending", "cancelled", "refunded"]
CURRENCIES = [("EUR", 40), ("USD", 35), ("GBP", 12), ("CHF", 4), ("JPY", 5), ("SEK", 4)]


class CSVKind(Kind):
    name = "csv"
    step_ms = 53
    header = "id,created_at,customer_id,email,sku,quantity,amount,currency,status,country,note,is_gift\n"

    def setup(self):
        self.iso = SecondCache(fmt_iso_prefix)
        self.customers = []
        crng = random.Random(f"csv:{self.rng.random()}:customers")
        for _ in range(20000):
            g = crng.getrandbits(128)
            h = f"{g:032x}"
            guid = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[g & 3]}{h[17:20]}-{h[20:32]}"
            first, last = crng.choice(FIRST), crng.choice(LAST)
            email = f"{first}.{last}{crng.randrange(100) if crng.random() < 0.6 else ''}@{crng.choice(['example.com', 'example.org', 'mail.example.net'])}"
            self.customers.append((guid, email))
        self.cur_names = [c for c, _ in CURRENCIES]
        self.cur_weights = [w for _, w in CURRENCIES]

    def make_entry(self, rng):
        intl = rng.random() < 0.05
        guid, email = rng.choice(self.customers)
        qty = rng.choice([1, 1, 1, 1, 2, 2, 3, 4, 5, 10])
        currency = weighted(rng, self.cur_names, self.cur_weights)
        unit = rng.lognormvariate(3.3, 0.9)
        amount = unit * qty * (150 if currency == "JPY" else 1)
        r = rng.random()
        if intl:
            note = rng.choice(NOTES_INTL)
        elif r < 0.55:
            note = ""
        else:
            note = rng.choice(NOTES_ASCII)
        country = rng.choice(GEO_INTL if intl else GEO_ASCII)[0]
        row = [
            TOK["seq"], TOK["ts"], guid, "" if rng.random() < 0.02 else email,
            f"SKU-{rng.randrange(1000, 99999)}", qty, f"{amount:.2f}", currency,
            rng.choice(STATUS_CSV), country, note, "true" if rng.random() < 0.08 else "false",
        ]
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(row)
        a, rest = buf.getvalue().split(TOK["seq"])
        b, c = rest.split(TOK["ts"])
        return (a, b, c, rng.randrange(self.step_ms))

    def render(self, start, n):
        pool = self.pool
        iso = self.iso
        step = self.step_ms
        base = self.base_ms
        out = []
        append = out.append
        seq = start
        for idx in self.indices(start, n):
            a, b, c, jitter = pool[idx]
            ms = base + seq * step + jitter
            sec, frac = divmod(ms, 1000)
            append(f"{a}{seq + 1}{b}{iso.get(sec)}{frac:03d}Z{c}")
            seq += 1
        return out


REFERERS = ["-", "-", "-", "-", "https://www.example.com/", "https://www.google.com/",
            "https://shop.example.com/products/classic-white-sneaker", "https://shop.example.com/search?q=lego&page=1",
            "https://t.co/abc123", "android-app://com.google.android.gm/"]
REMOTE_USERS = ["-"] * 40 + ["admin", "deploy", "jsmith"]


class Nginx(Kind):
    name = "nginx"
    step_ms = 23

    def setup(self):
        self.clients = ClientPool(random.Random(f"nginx:{self.rng.random()}:clients"))
        self.tl = SecondCache(fmt_nginx)

    def make_entry(self, rng):
        method, path = http_request(rng)
        status = weighted(rng, STATUSES, STATUS_WEIGHTS)
        if status == 301:  # directory without trailing slash -> redirect
            method, path = "GET", rng.choice(["/account", "/shop", "/blog", "/help", "/de", "/en-gb"])
        sep = "&" if "?" in path else "?"
        proto = "HTTP/2.0" if rng.random() < 0.35 else "HTTP/1.1"
        referer = rng.choice(REFERERS)
        ua = user_agent(rng, path)
        if not ua.startswith("Mozilla"):
            referer = "-"
        a = f"{self.clients.pick(rng)} - {rng.choice(REMOTE_USERS)} ["
        b = f'] "{method} {path}{sep}rid='
        c = f' {proto}" {status} {body_bytes(rng, status, path)} "{referer}" "{ua}"\n'
        return (a, b, c, rng.randrange(self.step_ms))

    def render(self, start, n):
        pool = self.pool
        tl = self.tl
        step = self.step_ms
        base = self.base_ms
        out = []
        append = out.append
        seq = start
        for idx in self.indices(start, n):
            a, b, c, jitter = pool[idx]
            append(f"{a}{tl.get((base + seq * step + jitter) // 1000)}{b}{seq}{c}")
            seq += 1
        return out


# (facility, severity, tag, has_pid, message templates)
SYSLOG_SOURCES = [
    (10, 6, "sshd", True, ["Accepted publickey for {user} from {ip} port {port} ssh2: ED25519 SHA256:{fp}",
                           "Disconnected from user {user} {ip} port {port}",
                           "Received disconnect from {ip} port {port}:11: disconnected by user"]),
    (10, 5, "sshd", True, ["Invalid user {bad} from {ip} port {port}",
                           "Connection closed by invalid user {bad} {ip} port {port} [preauth]"]),
    (4, 2, "su", True, ["'su root' failed for {user} on /dev/pts/{tty}"]),
    (4, 5, "su", True, ["(to root) {user} on pts/{tty}"]),
    (10, 5, "sudo", False, ["{user} : TTY=pts/{tty} ; PWD=/home/{user} ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx",
                            "pam_unix(sudo:session): session opened for user root(uid=0) by {user}(uid={uid})"]),
    (9, 6, "CRON", True, ["(root) CMD (/usr/lib/php/sessionclean)", "(www-data) CMD (php /var/www/app/artisan schedule:run)",
                          "pam_unix(cron:session): session closed for user root"]),
    (3, 6, "systemd", True, ["Started Session {n} of User {user}.", "Starting Daily apt upgrade and clean activities...",
                             "logrotate.service: Deactivated successfully.", "Finished Rotate log files."]),
    (0, 4, "kernel", False, ["[{up}] TCP: request_sock_TCP: Possible SYN flooding on port 443. Sending cookies.",
                             "[{up}] nf_conntrack: nf_conntrack: table full, dropping packet",
                             "[{up}] EXT4-fs (sda1): re-mounted. Opts: errors=remount-ro"]),
    (2, 6, "postfix/smtpd", True, ["connect from unknown[{ip}]", "{qid}: client=mail.example.net[{ip}]",
                                   "disconnect from unknown[{ip}] ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4"]),
    (2, 6, "postfix/qmgr", True, ["{qid}: from=<noreply@example.com>, size={size}, nrcpt=1 (queue active)"]),
    (3, 3, "nginx", True, ["2026/10/10 00:00:00 [error] {pid}#0: *{n} upstream timed out (110: Connection timed out) while reading response header from upstream"]),
    (16, 6, "app", True, ["order {n} paid: amount=49.90 currency=EUR", "cache warmup done in {ms} ms",
                          "Bestellung {n} für Müller versandt", "user {user} logged in 🎉"]),
]
SYSLOG_WEIGHTS = [14, 10, 2, 3, 5, 12, 10, 5, 8, 5, 3, 23]
SYSLOG_HOSTS = ["mymachine", "web-01", "web-02", "db-01", "mail", "bastion", "cache-01"]


class Syslog(Kind):
    name = "syslog"
    step_ms = 61
    # Start 2 h before 1 Oct so ~12 MB in the stream crosses "Sep 30" -> "Oct  1" (space-padded day).
    base_ms = calendar.timegm((2026, 9, 30, 22, 0, 0)) * 1000

    def setup(self):
        self.ts = SecondCache(fmt_3164)
        self.pids = {}
        srng = random.Random(f"syslog:{self.rng.random()}:pids")
        for _, _, tag, _, _ in SYSLOG_SOURCES:
            self.pids[tag] = [srng.randrange(300, 65000) for _ in range(12)]
        self.pids["systemd"] = [1, 1, 1, srng.randrange(800, 3000)]

    def make_entry(self, rng):
        fac, sev, tag, has_pid, templates = weighted(rng, SYSLOG_SOURCES, SYSLOG_WEIGHTS)
        if fac == 16 and rng.random() < 0.2:
            sev = 3
        pid = rng.choice(self.pids[tag])
        msg = rng.choice(templates).format(
            user=rng.choice(FIRST), bad=rng.choice(["admin", "oracle", "test", "ubuntu", "pi", "git"]),
            ip=f"{rng.choice([45, 61, 103, 185, 193, 218])}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
            port=rng.randrange(1024, 65535), fp=f"{rng.getrandbits(128):032x}"[:27], tty=rng.randrange(0, 6),
            uid=rng.randrange(1000, 1010), n=rng.randrange(1, 999999), up=f"{rng.uniform(10, 9e6):12.6f}".strip(),
            qid=f"{rng.getrandbits(40):010X}", size=rng.randrange(800, 90000), pid=pid, ms=rng.randrange(20, 4000),
        )
        tagtext = f"{tag}[{pid}]" if has_pid else tag
        a = f"<{fac * 8 + sev}>"
        b = f" {rng.choice(SYSLOG_HOSTS)} {tagtext}: {msg}\n"
        return (a, b, rng.randrange(self.step_ms))

    def render(self, start, n):
        pool = self.pool
        ts = self.ts
        step = self.step_ms
        base = self.base_ms
        out = []
        append = out.append
        seq = start
        for idx in self.indices(start, n):
            a, b, jitter = pool[idx]
            append(f"{a}{ts.get((base + seq * step + jitter) // 1000)}{b}")
            seq += 1
        return out


KINDS = {"ndjson": NDJSON, "csv": CSVKind, "nginx": Nginx, "syslog": Syslog}


# --------------------------------------------------------------------------- #
# Output: a writer thread (plain or gzip members), fed whole-record chunks
# --------------------------------------------------------------------------- #

NEW_MEMBER = object()


class Sink:
    def __init__(self, path, gzip_level):
        self.f = open(path, "wb")
        self.gzip_level = gzip_level
        self.q = queue.Queue(maxsize=6)
        self.error = None
        self.members = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            f = self.f
            comp = None
            while True:
                item = self.q.get()
                if item is None or item is NEW_MEMBER:
                    if comp is not None:
                        f.write(comp.flush())
                        comp = None
                    if item is None:
                        break
                    continue
                if self.gzip_level is None:
                    f.write(item)
                else:
                    if comp is None:
                        # wbits 31: gzip container, mtime 0, no name -> deterministic header.
                        comp = zlib.compressobj(self.gzip_level, zlib.DEFLATED, 31)
                        self.members += 1
                    f.write(comp.compress(item))
        except BaseException as e:  # surfaced in close()
            self.error = e
            while self.q.get() is not None:
                pass

    def write(self, data):
        if data:
            self.q.put(data)

    def new_member(self):
        self.q.put(NEW_MEMBER)

    def close(self):
        self.q.put(None)
        self.thread.join()
        self.f.close()
        if self.error:
            raise self.error


def parse_size(text):
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*", text, re.IGNORECASE)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {text!r}; use e.g. 20M, 200M, 2G, 512MiB")
    num, unit, binary = m.groups()
    power = "kmgt".index(unit.lower()) + 1 if unit else 0
    base = 1024 if binary.lower().startswith("i") else 1000
    if binary and not unit:
        raise argparse.ArgumentTypeError(f"bad size {text!r}")
    return int(float(num) * base ** power)


def generate(kind, size, seed, out_path, gzip_level=None, members=1):
    gen = KINDS[kind](seed)
    sink = Sink(out_path, gzip_level)
    total = 0
    records = 0
    boundaries = [(m + 1) * size // members for m in range(members - 1)]
    bi = 0
    nxt = boundaries[0] if boundaries else float("inf")
    try:
        header = gen.header.encode()
        if len(header) > size:
            raise SystemExit(f"gen: size {size} is smaller than the {kind} header")
        sink.write(header)
        total = len(header)
        done = False
        while not done:
            lines = gen.render(records, BATCH)
            data = "".join(lines).encode()
            if total + len(data) <= size and total + len(data) <= nxt:
                sink.write(data)
                total += len(data)
                records += len(lines)
                continue
            # Slow path (rare): the size limit or a member boundary falls inside this batch.
            chunk = []
            for line in lines:
                b = line.encode()
                if total + len(b) > size:
                    done = True
                    break
                if total >= nxt:
                    sink.write(b"".join(chunk))
                    chunk = []
                    sink.new_member()
                    bi += 1
                    nxt = boundaries[bi] if bi < len(boundaries) else float("inf")
                chunk.append(b)
                total += len(b)
                records += 1
            sink.write(b"".join(chunk))
    finally:
        sink.close()
    return total, records, sink.members


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    ap.add_argument("kind", choices=sorted(KINDS))
    ap.add_argument("--size", required=True, type=parse_size, help="uncompressed bytes: 20M, 200M, 2G (decimal), 512MiB (binary)")
    ap.add_argument("--out", required=True, help="output file (written to FILE.part, then renamed)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gzip", action="store_true", help="gzip level 6")
    ap.add_argument("--members", type=int, default=None, help="with --gzip: number of gzip members (default 1)")
    args = ap.parse_args(argv)
    if args.members is not None and not args.gzip:
        ap.error("--members needs --gzip")
    members = args.members or 1
    if members < 1:
        ap.error("--members must be >= 1")

    t0 = time.perf_counter()
    part = args.out + ".part"
    try:
        total, records, written_members = generate(args.kind, args.size, args.seed, part,
                                                   6 if args.gzip else None, members)
    except BaseException:
        if os.path.exists(part):
            os.unlink(part)
        raise
    os.replace(part, args.out)
    secs = time.perf_counter() - t0
    out_bytes = os.path.getsize(args.out)
    print(f"gen: kind={args.kind} seed={args.seed} records={records} bytes={total} out_bytes={out_bytes} "
          f"members={written_members if args.gzip else 0} seconds={secs:.2f} mb_per_s={total / 1e6 / max(secs, 1e-9):.1f}",
          file=sys.stderr)
    if args.gzip and written_members != members:
        print(f"gen: warning: asked for {members} members, wrote {written_members} (too few records)", file=sys.stderr)


if __name__ == "__main__":
    main()
