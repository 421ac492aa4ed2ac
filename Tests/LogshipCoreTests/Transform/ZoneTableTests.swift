import Foundation
import LogshipSupport
import Testing

@testable import LogshipCore

private func parse(_ s: String, _ zone: ZoneTable, _ format: DateTimeFormat = .iso8601) -> (
    Int64, ZoneTable.Resolution
)? {
    var copy = s
    return copy.withUTF8 { DateTimeParser.parse(UnsafeRawBufferPointer($0), format: format, zone: zone) }
}

private func iso(_ ms: Int64) -> String {
    var b = [UInt8](repeating: 0, count: 24)
    b.withUnsafeMutableBytes { _ = DateTimeParser.writeISO(ms, to: $0.baseAddress!) }
    return String(decoding: b, as: UTF8.self)
}

@Suite struct ZoneTableTests {
    @Test func dstGapMovesForwardAndARepeatTakesTheEarlierInstant() throws {
        let ams = try #require(ZoneTable(identifier: "Europe/Amsterdam"))
        // 2026-03-29 02:00 CET → 03:00 CEST: 02:30 does not exist.
        let gap = try #require(parse("2026-03-29 02:30:00", ams))
        #expect(iso(gap.0) == "2026-03-29T01:30:00.000Z" && gap.1 == .gap, "02:30 + 1h gap = 03:30 CEST")
        // 2026-10-25 03:00 CEST → 02:00 CET: 02:30 happens twice.
        let rep = try #require(parse("2026-10-25 02:30:00", ams))
        #expect(iso(rep.0) == "2026-10-25T00:30:00.000Z" && rep.1 == .repeated, "the earlier: 02:30 CEST")
        #expect(iso(try #require(parse("2026-10-25 03:00:00", ams)).0) == "2026-10-25T02:00:00.000Z")
        #expect(iso(try #require(parse("2026-07-01T12:00:00", ams)).0) == "2026-07-01T10:00:00.000Z")
        #expect(iso(try #require(parse("2026-12-01", ams)).0) == "2026-11-30T23:00:00.000Z", "a date is local midnight")
        // An offset or Z keeps its own.
        #expect(parse("2026-03-29T02:30:00Z", ams).map { iso($0.0) } == "2026-03-29T02:30:00.000Z")
        #expect(parse("2026-03-29T02:30:00+05:00", ams).map { iso($0.0) } == "2026-03-28T21:30:00.000Z")
        let withZ = try #require(DateTimeFormat.parse("%d/%b/%Y:%H:%M:%S %z"))
        #expect(parse("29/Mar/2026:02:30:00 +0000", ams, withZ).map { iso($0.0) } == "2026-03-29T02:30:00.000Z")
        let noZ = try #require(DateTimeFormat.parse("%d/%b/%Y:%H:%M:%S"))
        #expect(parse("29/Mar/2026:02:30:00", ams, noZ).map { iso($0.0) } == "2026-03-29T01:30:00.000Z")
        #expect(parse("1700000000", ams, .epochSeconds).map { $0.0 } == 1_700_000_000_000)
    }

    /// Against Python's zoneinfo (fold=0 is the same rule: the offset before the change) on the
    /// days around every change 1970–2040 and at random times up to 2100, for zones with unusual
    /// rules. Before 1970 the tz database itself does not promise one history (Foundation's
    /// copy and the system's differ there, e.g. Amsterdam's +00:19:32 before 1937).
    @Test func agreesWithPythonZoneinfo() throws {
        let zones = [
            "Europe/Amsterdam", "America/New_York", "Australia/Lord_Howe", "Europe/Moscow", "Asia/Kolkata",
            "America/Sao_Paulo", "Pacific/Apia", "UTC",
        ]
        let r = try python(
            """
            import random, sys
            from datetime import datetime, timedelta, timezone
            from zoneinfo import ZoneInfo
            rng = random.Random(14)
            out = []
            for name in sys.argv[1:]:
                z = ZoneInfo(name)
                def utc(local):
                    a = local.replace(tzinfo=z, fold=0)
                    b = local.replace(tzinfo=z, fold=1)
                    ms = int((a.astimezone(timezone.utc) - datetime(1970, 1, 1, tzinfo=timezone.utc)) / timedelta(milliseconds=1))
                    kind = "exact"
                    if a.utcoffset() != b.utcoffset():
                        back = a.astimezone(timezone.utc).astimezone(z).replace(tzinfo=None)
                        kind = "repeated" if back == local else "gap"
                    return ms, kind
                days = []
                prev = None
                d = datetime(1970, 1, 1)
                while d.year < 2041:
                    off = d.replace(hour=12, tzinfo=z).utcoffset()
                    if prev is not None and off != prev:
                        days += [d - timedelta(days=1), d]
                    prev = off
                    d += timedelta(days=1)
                locals_ = [day + timedelta(minutes=15 * k) for day in days for k in range(96)]
                locals_ += [datetime(1970, 1, 1) + timedelta(seconds=rng.randrange(130 * 365 * 86400)) for _ in range(300)]
                for t in locals_:
                    ms, kind = utc(t)
                    out.append(f"{name} {t.strftime('%Y-%m-%dT%H:%M:%S')} {ms} {kind}")
            print("\\n".join(out))
            """, zones, timeout: 120)
        try #require(r.status == 0, "\(r.stderr)")
        var tables: [String: ZoneTable] = [:]
        for z in zones {
            let t = ZoneTable(identifier: z)
            try #require(t != nil, "\(z)")
            tables[z] = t
        }
        var checked = 0, gaps = 0, repeats = 0, wrong: [String] = []
        for line in r.stdout.split(separator: "\n") {
            let p = line.split(separator: " ").map(String.init)
            guard p.count == 4, let want = Int64(p[2]) else { continue }
            guard let got = parse(p[1], tables[p[0]]!) else {
                wrong.append("\(line): not parsed")
                continue
            }
            checked += 1
            if got.1 == .gap { gaps += 1 }
            if got.1 == .repeated { repeats += 1 }
            let kind = got.1 == .exact ? "exact" : got.1 == .gap ? "gap" : "repeated"
            if got.0 != want || kind != p[3] { wrong.append("\(line): got \(got.0) \(kind)") }
        }
        #expect(wrong.isEmpty, "\(wrong.count) of \(checked) differ, first: \(wrong.prefix(5))")
        #expect(checked > 10_000 && gaps > 100 && repeats > 100, "\(checked) \(gaps) \(repeats)")
    }

    @Test func unknownZonesAreNotKnown() {
        #expect(ZoneTable.knows("Europe/Amsterdam") && ZoneTable.knows("UTC"))
        #expect(!ZoneTable.knows("Europe/Amsterdm") && ZoneTable(identifier: "Mars/Olympus_Mons") == nil)
    }
}
