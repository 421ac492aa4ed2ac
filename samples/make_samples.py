#!/usr/bin/env python3
"""Writes the checked-in samples the example pipelines read (pipelines/*.json5).

  samples/make_samples.py              # rewrite the samples in place
  samples/make_samples.py --out DIR    # write them under DIR instead (the tests compare)

Small, real-looking and deterministic: a seeded random.Random per file, fixed dates, gzip
headers with mtime 0 and no file name. Python 3 standard library only. Larger data for
benchmarks comes from bench/gen.py, not from here. samples/app/ (the quick start) was
written by hand and is not touched.

  nginx/access.log.{1,2,3}.gz   nginx combined format, rotated and gzipped (2 is two gzip members)
  orders/orders-*.csv           nightly PostgreSQL export (COPY … CSV HEADER): quotes, commas, newlines
  services/*.ndjson             structured service logs: nested objects and a long tail of fields
  syslog/messages               RFC 3164 as rsyslog writes it, with and without PRI
  syslog/rfc5424.log            RFC 5424 with structured data
  failed-uploads/*.json         request bodies (JSON arrays) another shipper could not deliver
  jvm/app.log                   a JVM service's logback log with stack traces, local times in
                                Europe/Amsterdam without an offset, over the night clocks went back
"""
import argparse
import csv
import gzip
import io
import json
import os
import random
import uuid
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def rng_for(name):
    # One generator per file: changing one sample leaves the others byte for byte the same.
    return random.Random("logship-samples:" + name)


def write(out, rel, data):
    path = os.path.join(out, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def gzip_member(data):
    buf = io.BytesIO()
    # No file name and mtime 0 in the header: the same input gives the same bytes.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=6) as g:
        g.write(data)
    return buf.getvalue()


def times(rng, start, end, n):
    """n sorted instants between start and end, bursty like real traffic."""
    span = (end - start).total_seconds()
    pts = sorted(rng.random() ** 1.15 * span if rng.random() < 0.3 else rng.random() * span for _ in range(n))
    return [start + timedelta(seconds=p, microseconds=rng.randrange(1000)) for p in pts]


def guid(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


# --------------------------------------------------------------------------- nginx

UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "ShopApp/5.12.0 (iOS 18.1; iPhone15,2)",
    "ShopApp/5.11.3 (Android 14; SM-S918B)",
    "curl/8.5.0",
    "python-requests/2.32.3",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "kube-probe/1.30",
]
UA_WEIGHTS = [14, 8, 10, 4, 8, 16, 10, 2, 2, 3, 6]
PATHS = [
    ("GET", "/", 200), ("GET", "/products/cast-iron-skillet-28cm", 200), ("GET", "/products/merino-wool-beanie", 200),
    ("GET", "/search?q=winter+jacket&page=2", 200), ("GET", "/api/v1/products/{n}", 200),
    ("POST", "/api/v2/cart/items", 201), ("GET", "/static/js/app.{h}.js", 200), ("GET", "/static/css/main.{h}.css", 200),
    ("GET", "/images/products/{n}-800w.webp", 200), ("POST", "/api/v1/orders/{n}/payments", 201),
    ("GET", "/account/orders", 200), ("POST", "/login", 302), ("GET", "/healthz", 200), ("GET", "/favicon.ico", 200),
]
PATH_WEIGHTS = [6, 4, 3, 5, 14, 5, 8, 5, 8, 2, 3, 2, 10, 2]
REFERERS = ["-", "-", "-", "https://shop.example.com/", "https://shop.example.com/search?q=lamp",
            "https://www.google.com/", "https://shop.example.com/products/desk-lamp"]


def nginx_client(rng):
    if rng.random() < 0.15:
        return f"2001:db8:{rng.randrange(0x10000):x}:{rng.randrange(0x10000):x}::{rng.randrange(1, 0x10000):x}"
    return f"{rng.choice([31, 46, 78, 85, 91, 109, 176, 185, 212])}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def nginx_line(rng, t):
    tl = t.astimezone(timezone(timedelta(hours=1)))
    time_local = f"{tl.day:02d}/{MONTHS[tl.month - 1]}/{tl.year}:{tl:%H:%M:%S} +0100"
    ip, user = nginx_client(rng), "-"
    ua = rng.choices(UAS, UA_WEIGHTS)[0]
    referer = rng.choice(REFERERS)
    r = rng.random()
    if r < 0.015:
        # A client that opened a connection and sent nothing: nginx logs the request as "-".
        return f'{ip} - - [{time_local}] "-" 400 0 "-" "-"'
    if r < 0.025:
        # TLS spoken to the plain-HTTP port; nginx escapes the bytes as \xHH.
        return f'{ip} - - [{time_local}] "\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xFC\\x03\\x03" 400 157 "-" "-"'
    if r < 0.045:
        path = rng.choice(["/wp-login.php", "/.env", "/.git/config", "/phpmyadmin/index.php", "/cgi-bin/luci"])
        return f'{ip} - - [{time_local}] "GET {path} HTTP/1.1" 404 153 "-" "Mozilla/5.0 zgrab/0.x"'
    if r < 0.06:
        # Basic auth on the back office: the only requests with a remote user.
        user = rng.choice(["alice", "ops-bot", "j.dupont"])
        return (f'{ip} - {user} [{time_local}] "GET /admin/orders?status=refunded HTTP/2.0" 200 {rng.randrange(4000, 40000)} '
                f'"https://shop.example.com/admin/" "{UAS[0]}"')
    if r < 0.065:
        # A user agent with a double quote in it: nginx writes it as \x22.
        ua = 'Mozilla/5.0 (compatible; \\x22SiteChecker\\x22/1.4)'
    method, path, status = rng.choices(PATHS, PATH_WEIGHTS)[0]
    path = path.replace("{n}", str(rng.randrange(1, 250000))).replace("{h}", f"{rng.getrandbits(32):08x}")
    if path == "/healthz":
        ua, referer = "kube-probe/1.30", "-"
    proto = rng.choice(["HTTP/1.1", "HTTP/2.0", "HTTP/2.0"])
    if status == 200 and rng.random() < 0.06:
        status = rng.choice([304, 404, 499, 500, 502, 503])
    if status == 201 and rng.random() < 0.1:
        status = rng.choice([400, 409, 422, 429])
    if status in (304, 499):
        size = 0
    elif path.startswith("/static/"):
        size = rng.randrange(20000, 600000)
    elif path.startswith("/images/"):
        size = rng.randrange(8000, 300000)
    elif path == "/healthz":
        size = 2
    else:
        size = rng.randrange(150, 30000)
    return f'{ip} - {user} [{time_local}] "{method} {path} {proto}" {status} {size} "{referer}" "{ua}"'


def nginx(out):
    # logrotate's numbering: .1 is the newest day, .3 the oldest.
    days = {1: (datetime(2026, 11, 21, tzinfo=timezone.utc), 320), 2: (datetime(2026, 11, 20, tzinfo=timezone.utc), 360),
            3: (datetime(2026, 11, 19, tzinfo=timezone.utc), 300)}
    for k, (day, n) in days.items():
        rng = rng_for(f"nginx-{k}")
        start = day - timedelta(hours=1)  # local midnight at +0100
        lines = [nginx_line(rng, t) for t in times(rng, start, start + timedelta(days=1), n)]
        data = ("\n".join(lines) + "\n").encode()
        if k == 2:
            # Two gzip members, as `cat part1.gz part2.gz` (or a rotation that appends) leaves them.
            cut = data.index(b"\n", len(data) // 2) + 1
            gz = gzip_member(data[:cut]) + gzip_member(data[cut:])
        else:
            gz = gzip_member(data)
        write(out, f"nginx/access.log.{k}.gz", gz)


# --------------------------------------------------------------------------- orders (CSV)

PRODUCTS = [
    ("SKU-10231", "Cast iron skillet, 28 cm", 39.90), ("SKU-10487", 'Mug "Hello, World" 350 ml', 12.50),
    ("SKU-11002", "Merino wool beanie", 24.00), ("SKU-11245", "Crème de marrons, 250 g", 6.80),
    ("SKU-12003", "USB-C cable 2 m", 9.99), ("SKU-12890", "Desk lamp (LED, dimmable)", 54.00),
    ("SKU-13377", "Trail running shoe", 119.00), ("SKU-14002", "Gift card", 50.00),
    ("SKU-15110", "Noise-cancelling headphones", 249.00), ("SKU-15773", "Yoga mat 6 mm", 29.95),
]
NOTES = [
    "", "", "", "", "", "", "Leave at the back door", "Gift wrap, please",
    "Please call before delivery, the bell is broken", 'Customer wrote: "second order this week, thanks!"',
    "Deliver after 6 pm\nRing twice", "Address line 2: Bâtiment B, 3ᵉ étage",
    "Split shipment: skillet today, lamp on backorder,\nETA 2026-12-02",
]
COUNTRIES = ["DE", "FR", "NL", "GB", "US", "SE", "IT", "ES", "PL", "CH"]


def pg_timestamp(t):
    # PostgreSQL prints timestamptz as "2026-11-22 07:13:05.12+00": trailing fraction zeros dropped.
    frac = f"{t.microsecond:06d}".rstrip("0")
    return t.strftime("%Y-%m-%d %H:%M:%S") + (f".{frac}" if frac else "") + "+00"


def orders(out):
    order_id = 8_104_220
    for day, n in [(datetime(2026, 11, 21, tzinfo=timezone.utc), 140), (datetime(2026, 11, 22, tzinfo=timezone.utc), 160)]:
        rng = rng_for(f"orders-{day:%Y-%m-%d}")
        buf = io.StringIO()
        # COPY … (FORMAT csv, HEADER): LF line ends, quotes only where needed, NULL as an empty field;
        # the export selects gift::text, so the booleans read true/false rather than COPY's t/f.
        w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        w.writerow(["order_id", "created_at", "customer_id", "customer_email", "sku", "product_name", "quantity",
                    "unit_price", "total", "currency", "status", "shipped_at", "country", "gift", "note"])
        customers = [(guid(rng), f"{rng.choice(['anna', 'ben', 'chloe', 'david', 'eva', 'jonas', 'yuki', 'zoe'])}."
                      f"{rng.choice(['mueller', 'garcia', 'dubois', 'tanaka', 'nowak', 'oconnor'])}@example.{rng.choice(['com', 'de', 'fr'])}")
                     for _ in range(60)]
        for t in times(rng, day, day + timedelta(days=1), n):
            order_id += rng.randrange(1, 4)
            cust, email = rng.choice(customers)
            sku, name, price = rng.choice(PRODUCTS)
            qty = rng.choices([1, 2, 3, 4, 10], [60, 20, 10, 5, 1])[0]
            status = rng.choices(["paid", "shipped", "refunded", "cancelled"], [50, 35, 8, 7])[0]
            shipped = pg_timestamp(t + timedelta(hours=rng.randrange(2, 30), seconds=rng.randrange(3600))) if status == "shipped" else ""
            country = rng.choice(COUNTRIES)
            currency = {"GB": "GBP", "US": "USD", "SE": "SEK", "PL": "PLN", "CH": "CHF"}.get(country, "EUR")
            w.writerow([order_id, pg_timestamp(t), cust, email, sku, name, qty, f"{price:.2f}", f"{price * qty:.2f}",
                        currency, status, shipped, country, "true" if sku == "SKU-14002" or rng.random() < 0.05 else "false",
                        rng.choice(NOTES)])
        write(out, f"orders/orders-{day:%Y-%m-%d}.csv", buf.getvalue().encode())


# --------------------------------------------------------------------------- services (NDJSON, nested, long tail)

# Fields a service adds to some lines (its bound context: request id, order, cache, …), in the
# order its logger writes them; at most these five in an ordinary line.
COMMON = {
    "checkout": ["x-request-id", "orderId", "cartItems", "retryAttempt", "cache"],
    "catalog": ["x-request-id", "sku", "page", "cache", "db"],
    "payments": ["x-request-id", "orderId", "paymentProvider", "amount", "retryAttempt"],
}
# The long tail: what a line for an error or a debug dump adds after its context. Dozens of
# names across the services, each in a few records.
LONG_TAIL = {
    "checkout": ["couponCode", "idempotencyKey", "shippingMethod", "giftWrap", "basketValue", "currency",
                 "abandonedAfterSec", "addressValidated", "taxRegion", "experiment", "featureFlags", "upstream",
                 "db", "locale", "clientVersion", "deviceType", "referrer", "campaign"],
    "catalog": ["warehouse", "stockLevel", "priceListId", "searchQuery", "resultCount", "facets", "indexVersion",
                "reindexBatch", "staleSeconds", "experiment", "featureFlags", "locale", "upstream", "imageVariant",
                "cdnPurge"],
    "payments": ["paymentIntent", "currency", "fraudScore", "threeDSecure", "webhookId", "webhookEvent",
                 "idempotencyKey", "upstream", "db", "settlementBatch", "chargebackReason", "refundId", "rateLimit",
                 "region"],
}
MESSAGES = {
    "checkout": ["cart updated", "checkout started", "address validated", "order placed", "coupon rejected",
                 "checkout abandoned", "shipping options computed", "order confirmation mail queued"],
    "catalog": ["product served", "search completed", "stock level changed", "price list reloaded",
                "reindex batch done", "image variant generated", "cache miss for product page"],
    "payments": ["payment intent created", "payment authorised", "payment declined", "webhook received",
                 "refund issued", "settlement batch closed", "3-D Secure challenge sent", "provider timeout, retrying"],
}
ROUTES = {
    "checkout": [("POST", "/api/v2/cart/items"), ("POST", "/api/v2/checkout"), ("GET", "/api/v2/cart"),
                 ("POST", "/api/v2/checkout/address")],
    "catalog": [("GET", "/api/v1/products/:id"), ("GET", "/api/v1/search"), ("GET", "/api/v1/categories/:slug")],
    "payments": [("POST", "/api/v1/payments"), ("POST", "/webhooks/psp"), ("POST", "/api/v1/refunds")],
}


def tail_value(rng, name, svc):
    v = {
        "orderId": lambda: 8_104_220 + rng.randrange(600),
        "cartItems": lambda: rng.randrange(1, 9),
        "couponCode": lambda: rng.choice(["WINTER26", "WELCOME10", "FREESHIP"]),
        "idempotencyKey": lambda: guid(rng),
        "shippingMethod": lambda: rng.choice(["standard", "express", "pickup"]),
        "giftWrap": lambda: rng.random() < 0.2,
        "basketValue": lambda: round(rng.uniform(5, 600), 2),
        "currency": lambda: rng.choice(["EUR", "EUR", "GBP", "USD"]),
        "abandonedAfterSec": lambda: rng.randrange(30, 3600),
        "addressValidated": lambda: rng.random() < 0.9,
        "taxRegion": lambda: rng.choice(["DE", "FR", "NL", "EU-OSS"]),
        "experiment": lambda: {"name": rng.choice(["one-page-checkout", "reco-v3"]), "variant": rng.choice(["A", "B"])},
        "featureFlags": lambda: rng.sample(["new-cart", "apple-pay", "reco-v3", "dark-mode", "fast-search"], rng.randrange(1, 4)),
        "x-request-id": lambda: f"{rng.getrandbits(64):016x}",
        "retryAttempt": lambda: rng.randrange(1, 4),
        "upstream": lambda: {"service": rng.choice(["inventory", "pricing", "psp-gateway", "tax"]),
                             "status": rng.choice([200, 200, 200, 503, 504]), "durationMs": round(rng.uniform(3, 900), 1)},
        "db": lambda: {"statement": rng.choice(["SELECT … FROM orders WHERE id = $1", "UPDATE stock SET level = level - $1 WHERE sku = $2",
                                                 "INSERT INTO payments (…) VALUES (…)"]),
                       "rows": rng.randrange(0, 5), "durationMs": round(rng.uniform(0.4, 80), 2)},
        "cache": lambda: {"hit": rng.random() < 0.7, "key": f"{svc}:{rng.getrandbits(24):06x}"},
        "error": lambda: {"type": rng.choice(["TimeoutError", "ValidationError", "UpstreamUnavailable"]),
                          "message": rng.choice(["deadline exceeded after 2000 ms", "postcode does not match city",
                                                 "503 from upstream: Service Unavailable"]),
                          "stack": "at handle (src/handlers/%s.ts:%d:%d)\nat process (node:internal/process/task_queues:95:5)"
                                   % (svc, rng.randrange(20, 400), rng.randrange(3, 40))},
        "locale": lambda: rng.choice(["de-DE", "fr-FR", "en-GB", "nl-NL", "ja-JP"]),
        "clientVersion": lambda: rng.choice(["5.12.0", "5.11.3", "web-2026.11.20"]),
        "deviceType": lambda: rng.choice(["ios", "android", "desktop"]),
        "referrer": lambda: rng.choice(["newsletter", "google", "direct"]),
        "campaign": lambda: rng.choice(["black-friday-26", "winter-sale"]),
        "sku": lambda: rng.choice(PRODUCTS)[0],
        "warehouse": lambda: rng.choice(["DUS-1", "LYS-2", "AMS-1"]),
        "stockLevel": lambda: rng.randrange(0, 400),
        "priceListId": lambda: f"pl-{rng.randrange(1, 40):03d}",
        "searchQuery": lambda: rng.choice(["winter jacket", "crème de marrons", "usb c", "skillet 28"]),
        "resultCount": lambda: rng.randrange(0, 480),
        "page": lambda: rng.randrange(1, 6),
        "facets": lambda: {"color": rng.choice(["red", "black"]), "size": rng.choice(["M", "L", "42"])},
        "indexVersion": lambda: f"2026-11-22.{rng.randrange(1, 9)}",
        "reindexBatch": lambda: rng.randrange(1, 200),
        "staleSeconds": lambda: rng.randrange(0, 900),
        "imageVariant": lambda: rng.choice(["400w", "800w", "1600w"]),
        "cdnPurge": lambda: rng.random() < 0.5,
        "paymentProvider": lambda: rng.choice(["stripe", "adyen", "paypal"]),
        "paymentIntent": lambda: f"pi_{rng.getrandbits(80):020x}",
        "amount": lambda: round(rng.uniform(5, 600), 2),
        "fraudScore": lambda: round(rng.random(), 3),
        "threeDSecure": lambda: rng.choice(["2.2.0", "2.1.0", "none"]),
        "webhookId": lambda: f"evt_{rng.getrandbits(72):018x}",
        "webhookEvent": lambda: rng.choice(["payment_intent.succeeded", "charge.refunded", "charge.dispute.created"]),
        "settlementBatch": lambda: f"sb-2026-11-22-{rng.randrange(1, 5)}",
        "chargebackReason": lambda: rng.choice(["fraudulent", "product_not_received"]),
        "refundId": lambda: f"re_{rng.getrandbits(72):018x}",
        "rateLimit": lambda: {"limit": 100, "remaining": rng.randrange(0, 100)},
        "region": lambda: rng.choice(["westeurope", "northeurope"]),
    }[name]
    return v()


def services(out):
    day = datetime(2026, 11, 22, 6, tzinfo=timezone.utc)
    versions = {"checkout": "2.14.1", "catalog": "7.3.0", "payments": "1.9.4"}
    for svc, n in [("checkout", 150), ("catalog", 130), ("payments", 110)]:
        rng = rng_for(f"services-{svc}")
        pods = [f"{svc}-{rng.getrandbits(36):09x}"[:len(svc) + 7] + f"-{rng.getrandbits(20):05x}" for _ in range(3)]
        users = [(f"u_{rng.randrange(10000, 99999)}", rng.choice(["acme", "globex", "initech", "umbrella"])) for _ in range(25)]
        lines = []
        for t in times(rng, day, day + timedelta(hours=6), n):
            level = rng.choices(["debug", "info", "warn", "error"], [10, 70, 14, 6])[0]
            rec = {
                "ts": t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z",
                "level": level,
                "service": svc,
                "version": versions[svc],
                "host": rng.choice(pods),
                "msg": rng.choice(MESSAGES[svc]),
                "trace": {"id": f"{rng.getrandbits(128):032x}", "span": f"{rng.getrandbits(64):016x}"},
            }
            # An error or a debug dump: a request's full context, then the long tail.
            dump = level == "error" or (level == "debug" and rng.random() < 0.5)
            if dump or rng.random() < 0.75:
                method, route = rng.choice(ROUTES[svc])
                status = rng.choices([200, 201, 204, 400, 404, 409, 429, 500, 503], [60, 10, 5, 6, 5, 3, 2, 3, 2])[0]
                if level == "error":
                    status = rng.choice([500, 502, 503])
                rec["http"] = {"method": method, "route": route, "status": status, "durationMs": round(rng.lognormvariate(3.2, 0.9), 1)}
                if dump or rng.random() < 0.8:
                    uid, tenant = rng.choice(users)
                    rec["user"] = {"id": uid, "tenant": tenant}
            k = 5 if dump else rng.choices([0, 1, 2, 3, 4, 5], [25, 25, 20, 15, 10, 5])[0]
            for name in sorted(rng.sample(COMMON[svc], k), key=COMMON[svc].index):
                rec[name] = tail_value(rng, name, svc)
            if level == "error":
                rec["error"] = tail_value(rng, "error", svc)
            if dump:
                for name in rng.sample(LONG_TAIL[svc], rng.randrange(8, 14)):
                    rec.setdefault(name, tail_value(rng, name, svc))
            lines.append(json.dumps(rec, ensure_ascii=False, separators=(",", ":")))
        write(out, f"services/{svc}-2026-11-22.ndjson", ("\n".join(lines) + "\n").encode())


# --------------------------------------------------------------------------- syslog RFC 3164

def bsd_time(t):
    # "Dec  1 00:00:03": no year, day padded with a space.
    return f"{MONTHS[t.month - 1]} {t.day:2d} {t:%H:%M:%S}"


def syslog_3164(out):
    rng = rng_for("syslog-3164")
    start = datetime(2026, 11, 30, 22, 0, tzinfo=timezone.utc)
    lines = []
    last = None
    for t in times(rng, start, start + timedelta(hours=5), 260):
        ts = bsd_time(t)
        r = rng.random()
        if r < 0.26:
            pid = rng.randrange(20000, 60000)
            user, ip = rng.choice(["deploy", "root", "admin", "ubuntu", "alice"]), f"203.0.113.{rng.randrange(1, 255)}"
            msg = rng.choice([f"Accepted publickey for {user} from {ip} port {rng.randrange(30000, 65000)} ssh2: ED25519 SHA256:Jx0q2fJkY1m4vQ",
                              f"Failed password for invalid user {user} from {ip} port {rng.randrange(30000, 65000)} ssh2",
                              f"Connection closed by authenticating user {user} {ip} port {rng.randrange(30000, 65000)} [preauth]",
                              f"pam_unix(sshd:session): session opened for user {user}(uid=1001) by (uid=0)"])
            line = f"{ts} web-01 sshd[{pid}]: {msg}"
        elif r < 0.32:
            cmd = rng.choice(["(root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)",
                              "(www-data) CMD (php /var/www/shop/bin/console messenger:consume async --time-limit=55)",
                              "(root) CMD (test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; })"])
            line = f"{ts} web-01 CRON[{rng.randrange(20000, 60000)}]: {cmd}"
        elif r < 0.42:
            unit = rng.choice(["logrotate.service", "apt-daily.service", "certbot.service", "fstrim.service"])
            line = f"{ts} web-01 systemd[1]: {rng.choice(['Starting', 'Finished'])} {unit} - {unit.split('.')[0]}."
        elif r < 0.50:
            line = (f"{ts} web-01 kernel: [{rng.randrange(100000, 999999)}.{rng.randrange(10**6):06d}] "
                    f"[UFW BLOCK] IN=eth0 OUT= MAC=00:16:3e:5a:7c:01 SRC=198.51.100.{rng.randrange(1, 255)} DST=10.0.0.5 LEN=44 PROTO=TCP DPT={rng.choice([23, 445, 3389, 5900])}")
        elif r < 0.54:
            line = f"{ts} web-01 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl reload nginx"
        elif r < 0.60:
            qid = f"{rng.getrandbits(40):010X}"
            line = f"{ts} web-01 postfix/smtp[{rng.randrange(2000, 9000)}]: {qid}: to=<ops@example.com>, relay=mail.example.com[192.0.2.25]:25, delay=0.41, status=sent (250 2.0.0 Ok: queued)"
        elif r < 0.64 and last is not None:
            # rsyslog's repeat-reduction line: no tag, the whole text is the message.
            line = f"{ts} web-01 message repeated {rng.randrange(2, 9)} times: [ {last} ]"
        elif r < 0.78:
            # Relayed from network gear and stored raw, PRI included.
            pri = rng.choice([134, 134, 131, 30, 189])
            host = {134: "fw-edge-01", 131: "fw-edge-01", 30: "nas-01", 189: "ap-lobby-02"}[pri]
            body = {134: f"filterlog[{rng.randrange(1000, 9000)}]: 5,,,1000000103,igb0,match,block,in,4,0x0,,64,0,0,DF,6,tcp,60,198.51.100.{rng.randrange(1, 255)},10.0.0.5,{rng.randrange(1024, 65535)},22,0,S",
                    131: "filterlog[4211]: rule 12 (WAN_IN) hit limit, state table 92% full",
                    30: f"smartd[811]: Device: /dev/sda [SAT], SMART Usage Attribute: 194 Temperature_Celsius changed from {rng.randrange(33, 40)} to {rng.randrange(33, 40)}",
                    189: f"hostapd: wlan0: STA 3c:22:fb:{rng.randrange(256):02x}:{rng.randrange(256):02x}:{rng.randrange(256):02x} IEEE 802.11: associated"}[pri]
            line = f"<{pri}>{ts} {host} {body}"
        else:
            # nginx's error log sent to syslog: tag without a PID, nginx's own timestamp inside.
            line = f"{ts} web-01 nginx: {t:%Y/%m/%d %H:%M:%S} [warn] 1043#1043: *{rng.randrange(10**6)} an upstream response is buffered to a temporary file"
        if "sshd" in line and "Failed" in line:
            last = line.split(": ", 1)[1]
        lines.append(line)
    write(out, "syslog/messages", ("\n".join(lines) + "\n").encode())


# --------------------------------------------------------------------------- syslog RFC 5424

def syslog_5424(out):
    rng = rng_for("syslog-5424")
    start = datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc)
    lines = []
    for t in times(rng, start, start + timedelta(hours=3), 180):
        r = rng.random()
        if r < 0.4:
            # An application with an offset and microseconds, as RFC 3339 allows.
            local = t.astimezone(timezone(timedelta(hours=1)))
            ts = local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond:06d}+01:00"
            sev = rng.choices([6, 4, 3], [80, 15, 5])[0]
            order = 8_104_220 + rng.randrange(600)
            msg = {6: f"invoice {order} rendered in {rng.randrange(40, 900)} ms", 4: f"invoice {order}: VAT id not verified, sent anyway",
                   3: f"invoice {order}: PDF renderer crashed; will retry"}[sev]
            sd = f'[billing@32473 orderId="{order}" tenant="{rng.choice(["acme", "globex"])}"]'
            lines.append(f"<{16 * 8 + sev}>1 {ts} billing-01.example.com billing-api {rng.randrange(1000, 5000)} INVOICE {sd} \ufeff{msg}")
        elif r < 0.7:
            ts = t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
            sev = rng.choices([6, 5, 4], [70, 20, 10])[0]
            batch = rng.randrange(10000, 99999)
            sd = (f'[ingest@32473 batch="{batch}" records="{rng.randrange(100, 50000)}"]'
                  f'[origin ip="10.0.4.{rng.randrange(2, 250)}" software="ingest-worker" swVersion="3.2.1"]')
            lines.append(f"<{17 * 8 + sev}>1 {ts} worker-{rng.randrange(1, 4)} ingest-worker - BATCH {sd} batch {batch} committed")
        elif r < 0.85:
            ts = t.strftime("%Y-%m-%dT%H:%M:%SZ")
            # Structured data with escaped characters (\" and \]) inside a value, and no message.
            path = rng.choice(['/var/lib/app/cache', '/srv/data/"tmp"', '/srv/data/x[1\\]'])
            esc = path.replace('"', '\\"')
            lines.append(f'<{10 * 8 + 5}>1 {ts} db-02 audit - FILE [audit@32473 op="unlink" path="{esc}" uid="0"]')
        else:
            ts = t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
            # Nil values for everything the sender did not know.
            lines.append(f"<{1 * 8 + 4}>1 {ts} - - - - - disk usage above 85% on /var")
    write(out, "syslog/rfc5424.log", ("\n".join(lines) + "\n").encode())


# --------------------------------------------------------------------------- failed uploads

def failed_uploads(out):
    # Batches a home-made Data Collector script could not deliver (it gave up after a 403 when
    # the key was rotated) and wrote to disk, each the request body it failed to send.
    for k, (start, n) in enumerate([(datetime(2026, 11, 18, 3, 15, tzinfo=timezone.utc), 45),
                                   (datetime(2026, 11, 18, 3, 20, tzinfo=timezone.utc), 50),
                                   (datetime(2026, 11, 19, 14, 2, tzinfo=timezone.utc), 35)]):
        rng = rng_for(f"failed-{k}")
        lines = []
        for t in times(rng, start, start + timedelta(minutes=5), n):
            event = rng.choices(["order.created", "order.paid", "order.payment_failed", "user.signed_in"], [40, 35, 10, 15])[0]
            rec = {
                "timestamp": t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z",
                "host": rng.choice(["web-01", "web-02", "web-03"]),
                "event": event,
                "level": "warn" if event == "order.payment_failed" else "info",
                "orderId": 8_100_000 + rng.randrange(4000) if event.startswith("order.") else None,
                "userId": f"u_{rng.randrange(10000, 99999)}",
                "amount": round(rng.uniform(5, 600), 2) if event != "user.signed_in" else None,
                "message": {"order.created": "order created", "order.paid": "payment captured",
                            "order.payment_failed": "card declined: insufficient funds",
                            "user.signed_in": "signed in with passkey"}[event],
            }
            rec = {k2: v for k2, v in rec.items() if v is not None}
            lines.append(rec)
        # The request body as the script posted it (a JSON array, what the Data Collector API
        # takes): compact as sent, except one the script pretty-printed for its log.
        if k == 1:
            body = json.dumps(lines, indent=2, ensure_ascii=False) + "\n"
        else:
            body = json.dumps(lines, separators=(",", ":"), ensure_ascii=False)
        name = f"failed-uploads/batch-{start:%Y%m%dT%H%M%SZ}.json"
        write(out, name, body.encode())


# --------------------------------------------------------------------------- JVM application

JVM_FRAMES = [
    "com.acme.shop.OrderService.place(OrderService.java:{n})",
    "com.acme.shop.OrderController.create(OrderController.java:{n})",
    "org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:{n})",
    "jakarta.servlet.http.HttpServlet.service(HttpServlet.java:{n})",
    "org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:{n})",
    "org.apache.tomcat.util.threads.ThreadPoolExecutor$Worker.run(ThreadPoolExecutor.java:{n})",
    "java.base/java.lang.Thread.run(Thread.java:{n})",
]


def jvm_trace(rng):
    frames = lambda k: [f"\tat {f.format(n=rng.randrange(20, 900))}" for f in rng.sample(JVM_FRAMES, k)]
    kind = rng.random()
    if kind < 0.5:
        lines = [f"java.lang.IllegalStateException: stock for SKU-{rng.randrange(1000, 9999)} went negative"] + frames(rng.randrange(3, 7))
    elif kind < 0.85:
        lines = ["org.springframework.dao.DataAccessResourceFailureException: could not get a connection"] + frames(4)
        lines += ["Caused by: java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after 30000ms."]
        lines += frames(2) + [f"\t... {rng.randrange(5, 40)} more"]
    else:
        lines = ["com.acme.shop.PaymentDeclinedError"] + frames(3)
        lines += ["\tSuppressed: java.io.IOException: audit log closed", f"\t\tat com.acme.audit.Log.write(Log.java:{rng.randrange(10, 99)})"]
    return lines


def jvm_app(out):
    # Local wall-clock times in Europe/Amsterdam without an offset, as logback's default
    # pattern writes them, over the night of 2026-10-25 when 02:00-03:00 happened twice.
    rng = rng_for("jvm-app")
    start = datetime(2026, 10, 25, 0, 30)
    lines = []
    t = start
    for _ in range(160):
        t += timedelta(seconds=rng.randrange(5, 120), milliseconds=rng.randrange(1000))
        # The wall clock as written: a time between 02:00 and 03:00 is ambiguous (docs/pipeline.md "Time zones").
        stamp = t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond // 1000:03d}"
        thread = rng.choice(["main", "http-nio-8080-exec-1", "http-nio-8080-exec-2", "scheduling-1"])
        r = rng.random()
        if r < 0.18:
            lines.append(f"{stamp} ERROR [{thread}] c.a.shop.OrderController - order {8_104_000 + rng.randrange(999)} failed")
            lines += jvm_trace(rng)
        elif r < 0.3:
            lines.append(f"{stamp} WARN  [{thread}] c.a.shop.StockService - stock low for SKU-{rng.randrange(1000, 9999)}")
        else:
            lines.append(f"{stamp} INFO  [{thread}] c.a.shop.OrderController - order {8_104_000 + rng.randrange(999)} placed in {rng.randrange(8, 400)} ms")
    write(out, "jvm/app.log", ("\n".join(lines) + "\n").encode())


def servers(out):
    # One nginx access log per server folder, as a log collector's share holds them: the
    # folder names the server (pipelines/servers.json5 turns it into a column).
    day = datetime(2026, 11, 22, tzinfo=timezone.utc)
    for name, n in [("web-01", 120), ("web-02", 90), ("web-03", 60)]:
        rng = rng_for(f"servers-{name}")
        lines = [nginx_line(rng, t) for t in times(rng, day, day + timedelta(hours=6), n)]
        write(out, f"servers/{name}/access.log", ("\n".join(lines) + "\n").encode())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=HERE, help="folder to write into (default: samples/ itself)")
    args = ap.parse_args()
    for make in [nginx, orders, services, syslog_3164, syslog_5424, failed_uploads, jvm_app, servers]:
        make(args.out)


if __name__ == "__main__":
    main()
