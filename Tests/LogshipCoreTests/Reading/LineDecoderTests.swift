import Foundation
import LogshipSupport
import Testing

@testable import LogshipCore
@testable import LogshipEmulator

// Over 500 lines on purpose: one suite per decoder, each preset and regex case a short test.

/// A decode result copied out of the decoder's buffers.
private struct Decoded {
    var provenance: Provenance
    /// Field name → value bytes (records only).
    var bytes: [String: [UInt8]] = [:]
    var order: [String] = []
    var error: RecordError?
    var excerpt: [UInt8] = []

    /// Values as text, for readable expectations.
    var fields: [String: String] { bytes.mapValues { String(decoding: $0, as: UTF8.self) } }
    var isRecord: Bool { error == nil }
}

private func decode(
    _ input: [UInt8], _ pattern: String, piece: Int = 97, maxLineBytes: Int = 32 << 20, fileIndex: Int = 3
) throws -> [Decoded] {
    let reader = LineReader(source: PieceSource(input, piece: piece), maxLineBytes: maxLineBytes)
    let decoder = try LineDecoder(reader: reader, pattern: pattern, fileIndex: fileIndex)
    var out: [Decoded] = []
    while let result = try decoder.next() {
        switch result {
        case .record(let view):
            var d = Decoded(provenance: view.provenance)
            var lastIndex: Int32 = -1
            for slot in view.fields {
                // Slots come in the order of `names`, each name at most once, all inside `base`.
                #expect(slot.nameIndex > lastIndex)
                #expect(slot.kind == .text)
                #expect(Int(slot.valueStart + slot.valueCount) <= view.base.count)
                lastIndex = slot.nameIndex
                let name = decoder.names.strings[Int(slot.nameIndex)]
                d.order.append(name)
                d.bytes[name] = Array(view.value(slot))
            }
            out.append(d)
        case .rejected(let provenance, let error, let excerpt):
            out.append(Decoded(provenance: provenance, error: error, excerpt: excerpt))
        }
    }
    #expect(decoder.decodedOffset == Int64(input.count))
    return out
}

private func decode(_ text: String, _ pattern: String, piece: Int = 97) throws -> [Decoded] {
    try decode(Array(text.utf8), pattern, piece: piece)
}

private func decodeOne(_ line: String, _ pattern: String) throws -> Decoded {
    let all = try decode(line + "\n", pattern)
    try #require(all.count == 1)
    return all[0]
}

// MARK: - nginx-combined

@Test func nginxTypicalLine() throws {
    let line =
        #"203.0.113.7 - - [10/Oct/2023:13:55:36 +0000] "GET /index.html?q=1&r=2 HTTP/1.1" 200 612 "https://example.com/start" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36""#
    let d = try decodeOne(line, "nginx-combined")
    #expect(d.error == nil)
    #expect(
        d.fields == [
            "remote_addr": "203.0.113.7", "remote_user": "-", "time_local": "10/Oct/2023:13:55:36 +0000",
            "request": "GET /index.html?q=1&r=2 HTTP/1.1", "request_method": "GET",
            "request_uri": "/index.html?q=1&r=2", "server_protocol": "HTTP/1.1", "status": "200",
            "body_bytes_sent": "612", "http_referer": "https://example.com/start",
            "http_user_agent":
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36",
        ])
    #expect(
        d.order == [
            "remote_addr", "remote_user", "time_local", "request", "request_method", "request_uri", "server_protocol",
            "status", "body_bytes_sent", "http_referer", "http_user_agent",
        ])
    #expect(d.provenance == Provenance(fileIndex: 3, line: 1, offset: 0, ordinal: 0))
}

@Test func nginxIPv6EscapedQuotesAndNonASCII() throws {
    let line =
        #"2001:db8:85a3::8a2e:370:7334 - alice [01/Feb/2024:00:00:01 +0100] "POST /api/v1/search?q=\x22hello world\x22 HTTP/2.0" 404 0 "-" "curl/8.4.0 \x22quoted\x22 Ünïcødé 日本 \xC3\xBC""#
    let d = try decodeOne(line, "nginx-combined")
    #expect(d.fields["remote_addr"] == "2001:db8:85a3::8a2e:370:7334")
    #expect(d.fields["remote_user"] == "alice")
    #expect(d.fields["request"] == #"POST /api/v1/search?q=\x22hello world\x22 HTTP/2.0"#)
    // Three parts only when split on single spaces gives exactly three: this URI has a space.
    #expect(d.fields["request_method"] == nil)
    #expect(d.fields["request_uri"] == nil)
    #expect(d.fields["server_protocol"] == nil)
    #expect(d.fields["status"] == "404")
    #expect(d.fields["body_bytes_sent"] == "0")
    #expect(d.fields["http_referer"] == "-")
    #expect(d.fields["http_user_agent"] == #"curl/8.4.0 \x22quoted\x22 Ünïcødé 日本 \xC3\xBC"#)
}

@Test func nginxRequestSplit() throws {
    let prefix = #"::1 - - [10/Oct/2023:13:55:36 +0000] ""#
    let suffix = #"" 400 150 "" "-""#
    let cases: [(String, (String, String, String)?)] = [
        ("GET /a%20b?x=\\x22y\\x22 HTTP/1.0", ("GET", "/a%20b?x=\\x22y\\x22", "HTTP/1.0")),
        ("-", nil),
        (#"\x16\x03\x01\x00\xA5\x01\x00\x00\xA1\x03\x03"#, nil),
        ("GET /", nil),
        ("GET  /double HTTP/1.1", nil),
        ("GET /x HTTP/1.1 ", nil),
        ("", nil),
    ]
    for (request, split) in cases {
        let d = try decodeOne(prefix + request + suffix, "nginx-combined")
        #expect(d.error == nil, "\(request)")
        #expect(d.fields["request"] == request)
        #expect(d.fields["request_method"] == split?.0)
        #expect(d.fields["request_uri"] == split?.1)
        #expect(d.fields["server_protocol"] == split?.2)
        #expect(d.fields["http_referer"] == "")
    }
}

@Test func nginxLongUserAgent() throws {
    let ua = String(repeating: "Mozilla/5.0 (compatible; Bot/2.1; +http://example.com/bot.html) ", count: 200)
    let line = #"10.0.0.1 - - [10/Oct/2023:13:55:36 +0000] "GET / HTTP/1.1" 200 5 "-" ""# + ua + "\""
    let d = try decodeOne(line, "nginx-combined")
    #expect(d.fields["http_user_agent"] == ua)
}

@Test func nginxRejectsWithLineNumbersAndGoesOn() throws {
    let good = #"192.0.2.1 - - [10/Oct/2023:13:55:36 +0000] "GET / HTTP/1.1" 200 5 "-" "ua""#
    let mainFormat = good + #" "198.51.100.2""#
    let lines = [
        good,
        "",
        #"hello world "quoted""#,
        good,
        mainFormat,
        #"192.0.2.1 - - [10/Oct/2023:13:55:36 +0000] "GET / HTTP/1.1" OK 5 "-" "ua""#,
        good,
        "",
    ]
    let out = try decode(lines.joined(separator: "\r\n"), "nginx-combined", piece: 13)
    #expect(out.map(\.isRecord) == [true, false, true, false, false, true])
    #expect(out.map(\.provenance.line) == [1, 3, 4, 5, 6, 7])
    #expect(out.map(\.provenance.ordinal) == [0, 1, 2, 3, 4, 5])
    let lineLength = Int64(good.utf8.count + 2)
    #expect(out[1].provenance.offset == lineLength + 2)
    #expect(out[2].provenance.offset == lineLength + 2 + Int64(lines[2].utf8.count + 2))

    #expect(
        out[1].error?.reason
            == "does not match nginx-combined: expected '- ' after the client address at byte 6, found 'w'")
    #expect(out[1].error?.column == 6)
    #expect(out[1].excerpt == Array(lines[2].utf8))
    #expect(
        out[3].error?.reason
            == "does not match nginx-combined: expected the end of the line after the user agent at byte \(good.utf8.count), found ' '"
    )
    #expect(out[4].error?.reason == "does not match nginx-combined: expected the status code at byte 60, found 'O'")
    #expect(out[5].fields["status"] == "200")
}

@Test func rejectedExcerptIsBounded() throws {
    let line = "garbage " + String(repeating: "x", count: 10_000)
    let d = try decodeOne(line, "nginx-combined")
    #expect(d.error != nil)
    #expect(d.excerpt.count == 4096)
    #expect(d.excerpt == Array(line.utf8.prefix(4096)))
}

@Test func overlongLineIsRejected() throws {
    let long = String(repeating: "a", count: 300)
    let input = Array(("first\n" + long + "\nlast\n").utf8)
    let out = try decode(input, "raw", piece: 7, maxLineBytes: 100)
    #expect(out.count == 3)
    #expect(out[0].fields == ["message": "first"])
    #expect(out[1].error?.reason.contains("longer than 100 bytes") == true)
    #expect(out[1].provenance.line == 2)
    #expect(out[1].excerpt.allSatisfy { $0 == UInt8(ascii: "a") })
    #expect(out[2].fields == ["message": "last"])
    #expect(out[2].provenance.line == 3)
    #expect(out[2].provenance.ordinal == 2)
}

// MARK: - Apache

@Test func apacheCommon() throws {
    let out = try decode(
        """
        127.0.0.1 user-identifier frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326
        fe80::1%eth0 - - [10/Oct/2000:13:55:37 -0700] "OPTIONS * HTTP/1.0" 200 -
        host.example.org - - [10/Oct/2000:13:55:38 -0700] "GET /a\\"b HTTP/1.1" 304 0
        127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326 "-" "ua"
        """, "apache-common")
    #expect(
        out[0].fields == [
            "remote_host": "127.0.0.1", "ident": "user-identifier", "remote_user": "frank",
            "time": "10/Oct/2000:13:55:36 -0700", "request": "GET /apache_pb.gif HTTP/1.0", "request_method": "GET",
            "request_uri": "/apache_pb.gif", "protocol": "HTTP/1.0", "status": "200", "bytes": "2326",
        ])
    #expect(out[1].fields["remote_host"] == "fe80::1%eth0")
    #expect(out[1].fields["ident"] == "-")
    #expect(out[1].fields["request_uri"] == "*")
    #expect(out[1].fields["bytes"] == "-")
    #expect(out[2].fields["request"] == #"GET /a\"b HTTP/1.1"#)
    #expect(out[2].fields["request_uri"] == #"/a\"b"#)
    #expect(out[3].error?.reason.hasPrefix("does not match apache-common: expected the end of the line") == true)
}

@Test func apacheCombined() throws {
    let line =
        #"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav) \"x\" \\""#
    let d = try decodeOne(line, "apache-combined")
    #expect(
        d.fields == [
            "remote_host": "127.0.0.1", "ident": "-", "remote_user": "frank", "time": "10/Oct/2000:13:55:36 -0700",
            "request": "GET /apache_pb.gif HTTP/1.0", "request_method": "GET", "request_uri": "/apache_pb.gif",
            "protocol": "HTTP/1.0", "status": "200", "bytes": "2326", "referer": "http://www.example.com/start.html",
            "user_agent": #"Mozilla/4.08 [en] (Win98; I ;Nav) \"x\" \\"#,
        ])
    let unterminated = try decodeOne(#"1.2.3.4 - - [t] "GET / HTTP/1.0" 200 1 "-" "ua \""#, "apache-combined")
    #expect(
        unterminated.error?.reason
            == "does not match apache-combined: expected '\"' closing the user agent at byte 49, found end of line")
}

// MARK: - syslog RFC 3164

@Test func syslog3164() throws {
    let out = try decode(
        """
        <34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8
        Jan  5 03:04:05 web-01 sshd[12345]: Accepted publickey for deploy from 2001:db8::7 port 52144 ssh2
        <13>Feb 3 10:00:00 host kernel: [   12.345678] Ünïcødé 日本
        Mar  1 00:00:00 host last message repeated 3 times
        2024-03-01T10:15:32.123456+01:00 host CRON[999]: (root) CMD (run-parts /etc/cron.hourly)
        <191>Dec 31 23:59:59 host app[1]:
        Apr 10 10:10:10 host
        Apr 10 10:10:10 host tag[x y]: not a tag
        May  9 08:07:06.123456 host app: fractional seconds
        """, "syslog-rfc3164")
    #expect(
        out[0].fields == [
            "pri": "34", "facility": "4", "severity": "2", "timestamp": "Oct 11 22:14:15", "hostname": "mymachine",
            "app_name": "su", "message": "'su root' failed for lonvick on /dev/pts/8",
        ])
    #expect(out[0].order == ["pri", "facility", "severity", "timestamp", "hostname", "app_name", "message"])
    #expect(
        out[1].fields == [
            "timestamp": "Jan  5 03:04:05", "hostname": "web-01", "app_name": "sshd", "procid": "12345",
            "message": "Accepted publickey for deploy from 2001:db8::7 port 52144 ssh2",
        ])
    #expect(
        out[2].fields == [
            "pri": "13", "facility": "1", "severity": "5", "timestamp": "Feb 3 10:00:00", "hostname": "host",
            "app_name": "kernel", "message": "[   12.345678] Ünïcødé 日本",
        ])
    #expect(
        out[3].fields == [
            "timestamp": "Mar  1 00:00:00", "hostname": "host", "message": "last message repeated 3 times",
        ])
    #expect(
        out[4].fields == [
            "timestamp": "2024-03-01T10:15:32.123456+01:00", "hostname": "host", "app_name": "CRON", "procid": "999",
            "message": "(root) CMD (run-parts /etc/cron.hourly)",
        ])
    #expect(
        out[5].fields == [
            "pri": "191", "facility": "23", "severity": "7", "timestamp": "Dec 31 23:59:59", "hostname": "host",
            "app_name": "app", "procid": "1", "message": "",
        ])
    #expect(out[6].fields == ["timestamp": "Apr 10 10:10:10", "hostname": "host"])
    #expect(out[7].fields["app_name"] == nil)
    #expect(out[7].fields["message"] == "tag[x y]: not a tag")
    #expect(out[8].fields["timestamp"] == "May  9 08:07:06.123456")
    #expect(out[8].fields["message"] == "fractional seconds")
}

@Test func syslog3164Rejections() throws {
    let out = try decode(
        """
        <192>Oct 11 22:14:15 host su: too high
        <34Oct 11 22:14:15 host su: no closing bracket
        hello world
        Oct 11 22:14 host short time
        Oct 11 22:14:15 host ok: still decoded
        """, "syslog-rfc3164")
    #expect(out.map(\.isRecord) == [false, false, false, false, true])
    #expect(out[0].error?.reason == "does not match syslog-rfc3164: expected a PRI of at most 191 at byte 1, found '1'")
    #expect(
        out[1].error?.reason
            == "does not match syslog-rfc3164: expected PRI: 1 to 3 digits and '>' at byte 3, found 'O'")
    #expect(
        out[2].error?.reason
            == "does not match syslog-rfc3164: expected a timestamp ('Mmm dd hh:mm:ss' or RFC 3339) at byte 0, found 'h'"
    )
    #expect(out[3].error?.column == 7)
    #expect(out[4].provenance.line == 5)
    #expect(out[4].fields["message"] == "still decoded")
}

@Test func syslogFacilityAndSeverityForEveryPRI() throws {
    let text = (0...191).map { "<\($0)>Jan  1 00:00:00 h t: m" }.joined(separator: "\n")
    let out = try decode(text, "syslog-rfc3164", piece: 4096)
    #expect(out.count == 192)
    for (pri, d) in out.enumerated() {
        #expect(d.fields["pri"] == String(pri))
        #expect(d.fields["facility"] == String(pri / 8))
        #expect(d.fields["severity"] == String(pri % 8))
        #expect(d.fields["message"] == "m")
    }
}

// MARK: - syslog RFC 5424

@Test func syslog5424() throws {
    let bom = "\u{FEFF}"
    let out = try decode(
        """
        <165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] \(bom)An application event log entry...
        <34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \(bom)'su root' failed for lonvick on /dev/pts/8
        <165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts. Ünïcødé
        <165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="App\\"li]cation\\]" eventID="1011"][examplePriority@32473 class="high"]
        <13>1 - - - - - -
        <0>12 2024-01-01T00:00:00Z h a p m - 
        """, "syslog-rfc5424")
    #expect(
        out[0].fields == [
            "pri": "165", "facility": "20", "severity": "5", "version": "1", "timestamp": "2003-10-11T22:14:15.003Z",
            "hostname": "mymachine.example.com", "app_name": "evntslog", "msgid": "ID47",
            "structured_data": #"[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"]"#,
            "message": "An application event log entry...",
        ])
    #expect(
        out[0].order == [
            "pri", "facility", "severity", "version", "timestamp", "hostname", "app_name", "msgid", "structured_data",
            "message",
        ])
    #expect(
        out[1].fields == [
            "pri": "34", "facility": "4", "severity": "2", "version": "1", "timestamp": "2003-10-11T22:14:15.003Z",
            "hostname": "mymachine.example.com", "app_name": "su", "msgid": "ID47",
            "message": "'su root' failed for lonvick on /dev/pts/8",
        ])
    #expect(
        out[2].fields == [
            "pri": "165", "facility": "20", "severity": "5", "version": "1",
            "timestamp": "2003-08-24T05:14:15.000003-07:00", "hostname": "192.0.2.1", "app_name": "myproc",
            "procid": "8710", "message": "%% It's time to make the do-nuts. Ünïcødé",
        ])
    #expect(
        out[3].fields["structured_data"]
            == #"[exampleSDID@32473 iut="3" eventSource="App\"li]cation\]" eventID="1011"][examplePriority@32473 class="high"]"#
    )
    #expect(out[3].fields["message"] == nil)
    #expect(out[4].fields == ["pri": "13", "facility": "1", "severity": "5", "version": "1"])
    #expect(
        out[5].fields == [
            "pri": "0", "facility": "0", "severity": "0", "version": "12", "timestamp": "2024-01-01T00:00:00Z",
            "hostname": "h", "app_name": "a", "procid": "p", "msgid": "m", "message": "",
        ])
}

@Test func syslog5424Rejections() throws {
    let out = try decode(
        """
        <34>1 2003-10-11T22:14:15.003Z host su - ID47 [open iut="3"
        <34>1 2003-10-11T22:14:15.003Z host su - ID47 [x a="\\"]
        Oct 11 22:14:15 mymachine su: a 3164 line
        <34>0 - - - - - -
        <34>1 - - - - -
        <34>1 - - - - - [ok]tail
        <34>1 - - - - - ok
        """, "syslog-rfc5424")
    #expect(out.map(\.isRecord) == [false, false, false, false, false, false, false])
    #expect(
        out[0].error?.reason
            == "does not match syslog-rfc5424: expected ']' closing the structured data element at byte 59, found end of line"
    )
    #expect(out[1].error?.column == 55)
    #expect(out[2].error?.reason == "does not match syslog-rfc5424: expected '<' opening PRI at byte 0, found 'O'")
    #expect(out[3].error?.reason == "does not match syslog-rfc5424: expected the version at byte 4, found '0'")
    #expect(
        out[4].error?.reason
            == "does not match syslog-rfc5424: expected ' ' and the rest of the header at byte 15, found end of line")
    #expect(
        out[5].error?.reason == "does not match syslog-rfc5424: expected ' ' before the message at byte 20, found 't'")
    #expect(
        out[6].error?.reason
            == "does not match syslog-rfc5424: expected structured data ('-' or '[…]') at byte 16, found 'o'")
}

// MARK: - every prefix

@Test func everyPrefixStaysInsideTheLine() throws {
    let samples: [(LinePreset, String)] = [
        (.nginxCombined, #"::1 - u [10/Oct/2023:13:55:36 +0000] "GET /a\x22 HTTP/1.1" 200 5 "r\\" "ua \"x\"""#),
        (.apacheCommon, #"h i u [t] "GET / HTTP/1.0" 200 -"#),
        (.apacheCombined, #"h i u [t] "GET / HTTP/1.0" 200 1 "r" "a""#),
        (.syslogRFC3164, "<191>Jan  5 03:04:05.123 web-01 sshd[12345]: m"),
        (.syslogRFC3164, "2024-03-01T10:15:32.123456+01:00 host CRON: m"),
        (.syslogRFC5424, #"<165>1 t h a p m [id k="v\"\]"][b] \#u{FEFF}msg"#),
        (.raw, "x"),
    ]
    for (preset, sample) in samples {
        let full = Array(sample.utf8)
        for length in 1...full.count {
            // An allocation of exactly the prefix, so a read past its end is caught by sanitizers.
            let line = UnsafeMutableRawBufferPointer.allocate(byteCount: length, alignment: 1)
            defer { line.deallocate() }
            line.copyBytes(from: full[0..<length])
            let fields = SlotBuffer()
            // A rejected line's partial slots are dropped by the decoder; only a match is checked.
            guard let pri = try? PresetParsers.parse(preset, UnsafeRawBufferPointer(line), into: fields) else {
                #expect(length < full.count, "\(preset.name) sample")
                continue
            }
            let computed = pri >= 0 ? 3 : 0
            for slot in fields.view { #expect(Int(slot.valueStart + slot.valueCount) <= length + computed) }
        }
    }
}

// MARK: - raw

@Test func rawKeepsTheWholeLine() throws {
    let out = try decode("  leading and trailing  \r\n\n\tÜnïcødé 日本\nno newline at end", "raw", piece: 3)
    #expect(
        out.map(\.fields) == [
            ["message": "  leading and trailing  "], ["message": "\tÜnïcødé 日本"], ["message": "no newline at end"],
        ])
    #expect(out.map(\.provenance.line) == [1, 3, 4])
    #expect(out.map(\.provenance.offset) == [0, 27, 47])
}

// MARK: - regex

@Test func regexWithNonASCIIAndOptionalGroups() throws {
    let pattern = #"^(?<ip>\S+) (?<user>\S+)(?: \[(?<tag>[^\]]*)\])? (?<msg>.*)$"#
    let out = try decode(
        """
        1.2.3.4 jörg [ünï 😀] héllo 😀 wörld
        5.6.7.8 zoë 日本語 text
        nothing-to-see
        9.9.9.9 𝔘𝔫𝔦 [] x
        """, pattern)
    #expect(out[0].fields == ["ip": "1.2.3.4", "user": "jörg", "tag": "ünï 😀", "msg": "héllo 😀 wörld"])
    #expect(out[0].order == ["ip", "user", "tag", "msg"])
    #expect(out[1].fields == ["ip": "5.6.7.8", "user": "zoë", "msg": "日本語 text"])
    #expect(out[2].error?.reason == "does not match the regular expression in source.lines.pattern")
    #expect(out[2].provenance.line == 3)
    #expect(out[3].fields == ["ip": "9.9.9.9", "user": "𝔘𝔫𝔦", "tag": "", "msg": "x"])
}

@Test func regexValuesPointIntoInvalidUTF8() throws {
    // A lone continuation byte, a truncated sequence and an encoded surrogate stay as written.
    var input = Array("ip=1.2.3.4 user=b".utf8) + [0xFF] + Array("d msg=m".utf8) + [0xC3]
    input += Array(" ünï 😀".utf8) + [0xED, 0xA0, 0x80] + Array("!\n".utf8)
    let out = try decode(input, #"ip=(?<ip>\S+) user=(?<user>\S+) msg=(?<msg>.*)"#)
    #expect(out.count == 1)
    #expect(out[0].bytes["ip"] == Array("1.2.3.4".utf8))
    #expect(out[0].bytes["user"] == [UInt8(ascii: "b"), 0xFF, UInt8(ascii: "d")])
    #expect(
        out[0].bytes["msg"] == [UInt8(ascii: "m"), 0xC3] + Array(" ünï 😀".utf8) + [0xED, 0xA0, 0x80, UInt8(ascii: "!")])
}

@Test func regexGroupsAroundAstralScalarsInInvalidUTF8() throws {
    let input: [UInt8] = [0xFF] + Array("😀x 𝔘\n".utf8)
    let out = try decode(input, #"(?<e>😀)(?<x>x) (?<u>.)"#)
    #expect(out[0].bytes["e"] == Array("😀".utf8))
    #expect(out[0].bytes["x"] == Array("x".utf8))
    #expect(out[0].bytes["u"] == Array("𝔘".utf8))
}

@Test func byteOrderMarkOpeningTheFileIsDropped() throws {
    let out = try decode("\u{FEFF}first\n\u{FEFF}second\n", "raw")
    #expect(out.map(\.fields) == [["message": "first"], ["message": "\u{FEFF}second"]])
    #expect(out.map(\.provenance.offset) == [3, 9])
    let nginx = try decode("\u{FEFF}" + #"::1 - - [t] "GET / HTTP/1.1" 200 1 "-" "-""#, "nginx-combined")
    #expect(nginx[0].fields["remote_addr"] == "::1")
}

@Test func regexSearchesAnywhereInTheLine() throws {
    let d = try decodeOne("prefix status=503 suffix", #"status=(?<status>\d+)"#)
    #expect(d.fields == ["status": "503"])
}

@Test func invalidRegexThrows() {
    let reader = LineReader(source: PieceSource([], piece: 1))
    #expect(throws: ReadError.self) { try LineDecoder(reader: reader, pattern: "(?<a>[unclosed", fileIndex: 0) }
}

// MARK: - Agreement with an independent parser

extension SplitMix64 {
    fileprivate mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    fileprivate mutating func pick<T>(_ a: [T]) -> T { a[int(a.count)] }
}

private func generatedNginxLog(lines count: Int) -> [UInt8] {
    var g = SplitMix64(seed: 42)
    let users = ["-", "-", "-", "alice", "bob smith", "jörg", "u\\x22q"]
    let methods = ["GET", "GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"]
    let paths = ["/", "/index.html", "/api/v1/items?id=42&x=%20", "/search?q=\\x22a b\\x22", "/ünï/日本", "/a\"b", "*"]
    let protocols = ["HTTP/1.0", "HTTP/1.1", "HTTP/2.0"]
    let oddRequests = ["-", "", "\\x16\\x03\\x01\\x00\\xA5", "GET /", "GET /a b HTTP/1.1", "GET  /x HTTP/1.1", "\\\\"]
    let referers = ["-", "-", "", "https://example.com/", "https://例え.jp/ページ?q=\\x22x\\x22", "ref\\\\"]
    let agents = [
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36",
        "curl/8.4.0", "-", "", "Mozilla/4.08 [en] (Win98; I ;Nav)", "agent \\\"escaped\\\" ok",
        "ends with backslashes \\\\",
        "Ünïcødé 😀 bot", String(repeating: "long-agent/1.0 ", count: 40),
    ]
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    var out: [UInt8] = []
    for _ in 0..<count {
        var addr: String
        switch g.int(3) {
        case 0: addr = "\(g.int(256)).\(g.int(256)).\(g.int(256)).\(g.int(256))"
        case 1: addr = "2001:db8:\(String(g.int(65536), radix: 16))::\(String(g.int(65536), radix: 16))"
        default: addr = g.pick(["::1", "fe80::1%eth0", "127.0.0.1"])
        }
        let time = String(
            format: "%02d/%@/20%02d:%02d:%02d:%02d %@", g.int(28) + 1, g.pick(months), g.int(30), g.int(24), g.int(60),
            g.int(60), g.pick(["+0000", "-0700", "+0530"]))
        let request =
            g.int(8) == 0
            ? g.pick(oddRequests)
            : "\(g.pick(methods)) \(g.pick(paths))\(g.int(3) == 0 ? "?n=\(g.int(1000))" : "") \(g.pick(protocols))"
        let status = g.pick(["200", "200", "200", "301", "304", "404", "499", "500", "503"])
        let bytes = g.int(20) == 0 ? "-" : String(g.int(100_000))
        var line =
            "\(addr) - \(g.pick(users)) [\(time)] \"\(request)\" \(status) \(bytes) \"\(g.pick(referers))\" \"\(g.pick(agents))\""
        switch g.int(25) {
        case 0: line = String(line.prefix(g.int(line.count)))
        case 1: line = line.replacingOccurrences(of: " \(status) ", with: " ok ")
        case 2: line += " \"198.51.100.7\""
        case 3: line.removeLast()
        case 4: line = line.replacingOccurrences(of: " - ", with: " x ")
        case 5: line = ""
        default: break
        }
        out += Array(line.utf8)
        if g.int(10) == 0 { out.append(0x0D) }
        out.append(0x0A)
    }
    return out
}

private let nginxOracle = #"""
    import json, re, sys
    rx = re.compile(rb'(\S+) - (.*?) \[([^\]]*)\] "((?:[^"\\]|\\.)*)" (\d+) (\d+|-) "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"')
    names = ["remote_addr", "remote_user", "time_local", "request", "status", "body_bytes_sent", "http_referer", "http_user_agent"]
    data = open(sys.argv[1], "rb").read()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    with open(sys.argv[2], "w") as out:
        for number, line in enumerate(lines, 1):
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                continue
            m = rx.fullmatch(line)
            if m is None:
                out.write(json.dumps({"line": number, "rejected": True}) + "\n")
                continue
            fields = {n: m.group(i + 1).hex() for i, n in enumerate(names)}
            parts = m.group(4).split(b" ")
            if len(parts) == 3 and all(parts):
                for n, p in zip(["request_method", "request_uri", "server_protocol"], parts):
                    fields[n] = p.hex()
            out.write(json.dumps({"line": number, "fields": fields}) + "\n")
    """#

private let python3: String? = ["/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}

@Test(.enabled(if: python3 != nil, "python3 is needed for the oracle"))
func nginxAgreesWithPythonOracle() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("logship-linedecoder-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let input = generatedNginxLog(lines: 4000)
    let logURL = dir.appendingPathComponent("access.log")
    let scriptURL = dir.appendingPathComponent("oracle.py")
    let outURL = dir.appendingPathComponent("oracle.jsonl")
    try Data(input).write(to: logURL)
    try nginxOracle.write(to: scriptURL, atomically: true, encoding: .utf8)

    let process = Process()
    process.executableURL = URL(fileURLWithPath: python3!)
    process.arguments = [scriptURL.path, logURL.path, outURL.path]
    let done = DispatchSemaphore(value: 0)
    process.terminationHandler = { _ in done.signal() }
    try process.run()
    if done.wait(timeout: .now() + 60) == .timedOut {
        process.terminate()
        _ = done.wait(timeout: .now() + 5)
        Issue.record("the Python oracle did not finish within 60 s")
        return
    }
    try #require(process.terminationStatus == 0)

    var expected: [Int: [String: String]?] = [:]
    for row in try String(contentsOf: outURL, encoding: .utf8).split(separator: "\n") {
        let object = try #require(JSONSerialization.jsonObject(with: Data(row.utf8)) as? [String: Any])
        let line = try #require(object["line"] as? Int)
        expected[line] = object["fields"] as? [String: String]
    }

    let reader = LineReader(source: try FileByteSource(path: logURL.path), bufferSize: 8192)
    let decoder = try LineDecoder(reader: reader, pattern: "nginx-combined", fileIndex: 0)
    var seen = 0
    var rejected = 0
    while let result = try decoder.next() {
        seen += 1
        switch result {
        case .record(let view):
            var fields: [String: String] = [:]
            for slot in view.fields {
                fields[decoder.names.strings[Int(slot.nameIndex)]] = Array(view.value(slot)).hexString
            }
            #expect(expected[view.provenance.line] == .some(fields), "line \(view.provenance.line)")
        case .rejected(let provenance, _, _):
            rejected += 1
            #expect(expected[provenance.line] == .some(nil), "line \(provenance.line)")
        }
    }
    #expect(seen == expected.count)
    // The generator mixes in enough bad lines for both outcomes to be exercised.
    #expect(rejected > 50)
    #expect(seen - rejected > 2000)
}

@Suite struct LinePatternRenamingTests {
    @Test func groupNamesWithUnderscoresWork() throws {
        let (icu, names) = LinePattern.icuPattern(#"^(?<remote_addr>\S+) (?P<user_name>\w+) \k<remote_addr> [(?<x>)]"#)
        #expect(names == ["remote_addr", "user_name"])
        #expect(icu == #"^(?<g0>\S+) (?<g1>\w+) \k<g0> [(?<x>)]"#)
        #expect(LinePattern.regexProblem(#"(?<remote_addr>\S+) (?<status_code>\d+)"#) == nil)
    }
}
