#!/usr/bin/env python3
"""Size against CPU of zlib levels and strategies on Logs Ingestion-sized bodies.

  bench/zlib_levels.py [FILE]   # default bench/data/web-200M.ndjson (bench/gen.py ndjson)

Cuts the first 30 bodies of at most 1,000,000 bytes at line ends, writes each as a JSON array
(what logship sends), and gzips each (window 15 + gzip wrapper) with every configuration: CPU
time best of 3, size as a share of the input. Python's zlib is the system zlib logship links.
The choice in Sources/LogshipSupport/Gzip.swift (`Gzip.defaultLevel`) cites these figures.
"""
import os
import sys
import time
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def bodies(path, count=30, limit=1_000_000):
    data = open(path, "rb").read(count * limit + limit)
    out, i = [], 0
    while i < len(data) and len(out) < count:
        j = data.rfind(b"\n", i, i + limit - 2)
        if j <= i:
            break
        out.append(b"[" + data[i:j].replace(b"\n", b",") + b"]")
        i = j + 1
    return out


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "bench", "data", "web-200M.ndjson")
    bs = bodies(path)
    raw = sum(len(b) for b in bs)
    print(f"zlib {zlib.ZLIB_RUNTIME_VERSION}, {len(bs)} bodies, {raw / len(bs):,.0f} bytes each on average")
    configs = [(1, 0, 8, "level 1"), (2, 0, 8, "level 2"), (3, 0, 8, "level 3"), (4, 0, 8, "level 4"),
               (6, 0, 8, "level 6"), (1, zlib.Z_FIXED, 8, "level 1 Z_FIXED"), (1, 0, 9, "level 1 memLevel 9"),
               (1, zlib.Z_RLE, 8, "Z_RLE"), (1, zlib.Z_HUFFMAN_ONLY, 8, "Z_HUFFMAN_ONLY")]
    for level, strategy, mem, name in configs:
        best, size = 1e9, 0
        for _ in range(3):
            t = time.process_time()
            size = 0
            for b in bs:
                c = zlib.compressobj(level, zlib.DEFLATED, 31, mem, strategy)
                size += len(c.compress(b)) + len(c.flush())
            best = min(best, time.process_time() - t)
        print(f"  {name:<20} size {size / raw * 100:5.1f} %   {best / raw * 1e8:5.2f} CPU-s per 100 MB")


if __name__ == "__main__":
    main()
