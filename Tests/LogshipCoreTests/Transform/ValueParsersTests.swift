import Foundation
import Testing

@testable import LogshipCore
@testable import LogshipEmulator

private func bytes<T>(_ s: String, _ body: (UnsafeRawBufferPointer) -> T) -> T {
    var s = s
    return s.withUTF8 { body(UnsafeRawBufferPointer($0)) }
}

private func int64(_ s: String) -> Int64? { bytes(s, ValueParsers.parseInt64) }
private func double(_ s: String) -> Double? { bytes(s, ValueParsers.parseDouble) }
private func isJSON(_ s: String) -> Bool { bytes(s, ValueParsers.isJSONNumber) }
private func bool(_ s: String) -> Bool? { bytes(s, ValueParsers.parseBool) }

private func guid(_ s: String) -> String? {
    var out = [UInt8](repeating: 0, count: 36)
    let ok = out.withUnsafeMutableBytes { o in bytes(s) { ValueParsers.normalizeGUID($0, to: o.baseAddress!) } }
    return ok ? String(decoding: out, as: UTF8.self) : nil
}

private func written(_ d: Double) -> String {
    var out = [UInt8](repeating: 0, count: 32)
    let n = out.withUnsafeMutableBytes { ValueParsers.writeDouble(d, to: $0.baseAddress!) }
    return String(decoding: out[0..<n], as: UTF8.self)
}

private func written(_ v: Int64) -> String {
    var out = [UInt8](repeating: 0, count: 20)
    let n = out.withUnsafeMutableBytes { ValueParsers.writeInt64(v, to: $0.baseAddress!) }
    return String(decoding: out[0..<n], as: UTF8.self)
}

/// Our parser against Swift's: same bits where both give a finite value, nil exactly where
/// Swift's is nil or infinite. Only for strings inside our grammar (no hex, inf, nan).
private func agreesWithSwift(_ s: String) -> Bool {
    let ours = double(s)
    let swift = Double(s)
    if let swift, swift.isFinite {
        return ours?.bitPattern == swift.bitPattern
    }
    return ours == nil
}

@Suite("ValueParsers")
struct ValueParsersTests {
    // MARK: Integers

    @Test func int64Boundaries() {
        #expect(int64("0") == 0)
        #expect(int64("-0") == 0)
        #expect(int64("+42") == 42)
        #expect(int64("007") == 7)
        #expect(int64("9223372036854775807") == .max)
        #expect(int64("9223372036854775808") == nil)
        #expect(int64("-9223372036854775808") == .min)
        #expect(int64("-9223372036854775809") == nil)
        #expect(int64("+9223372036854775807") == .max)
        #expect(int64("00000000000000000000000009223372036854775807") == .max)
        #expect(int64("99999999999999999999") == nil)
        #expect(int64("18446744073709551616") == nil)
        for s in ["", "-", "+", " 1", "1 ", "1.0", "1e3", "0x1", "--1", "+-1", "1_000", "١"] {
            #expect(int64(s) == nil, "\(s)")
        }
    }

    @Test func int64MatchesSwift() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<20_000 {
            let v = Int64(bitPattern: rng.next()) >> (rng.next() % 64)
            #expect(int64(String(v)) == v)
            #expect(written(v) == String(v))
        }
    }

    @Test func writeInt64Boundaries() {
        for v: Int64 in [0, 1, -1, 9, 10, -10, 99, 100, .max, .min, .max - 1, .min + 1, 1_000_000_000_000_000_000] {
            #expect(written(v) == String(v))
        }
    }

    // MARK: Doubles

    @Test func doubleForms() {
        #expect(double("1.5") == 1.5)
        #expect(double("-2") == -2)
        #expect(double("1e3") == 1000)
        #expect(double("1E+3") == 1000)
        #expect(double("1e-3") == 0.001)
        #expect(double(".5") == 0.5)
        #expect(double("5.") == 5)
        #expect(double("+.5") == 0.5)
        #expect(double("-.5e-3") == -0.0005)
        #expect(double("-0")?.bitPattern == (-0.0).bitPattern)
        #expect(double("0e999999")?.bitPattern == (0.0).bitPattern)
        #expect(double("1e-99999") == 0)
        #expect(double("1e99999") == nil)
        #expect(double("1.7976931348623159e308") == nil)
        #expect(double("1.7976931348623157e308") == .greatestFiniteMagnitude)
        #expect(double("4.9406564584124654e-324") == .leastNonzeroMagnitude)
        for s in [
            "", "-", "+", ".", "-.", "e5", ".e5", "1e", "1e+", "1e-", "1.5.2", " 1", "1 ", "inf", "-inf", "nan", "NaN",
            "Infinity", "infinity", "0x10", "0x1p3", "1_000", "--1", "+-1", "1e5.5", "1ee5", "1,5", "١",
        ] {
            #expect(double(s) == nil, "\(s)")
        }
    }

    @Test func doubleTrickyCasesAgreeWithSwift() {
        let tricky = [
            "0.1", "0.2", "0.3", "0.30000000000000004", "1.1", "2.2250738585072011e-308", "2.2250738585072012e-308",
            "2.2250738585072014e-308", "4.9e-324", "5e-324", "2.4703282292062327e-324", "2.4703282292062328e-324",
            "1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623158079e308", "9007199254740992",
            "9007199254740993", "9007199254740994", "9007199254740995", "18014398509481985", "1e22", "1e23",
            "1e-22", "1e-23", "8.98846567431158e307", "123456789012345678901234567890", "0.000000000000000000000000001",
            "3.141592653589793238462643383279", "1.000000000000000111022302462515654042363166809082031250",
            "1.00000000000000011102230246251565404236316680908203125",
            "1.00000000000000011102230246251565404236316680908203124",
            "7.038531e-26", "6929495644600919.5", "2.2204460492503131e-16", "1700000000.123", "1e308", "1e309",
            "0.0", "-0.0", "000000000000000000000000001.5", "1.500000000000000000000000000", "12345678901234567890",
            "1234567890123456789", "99999999999999999999e-20", "1e30", "123e28", "9007199254740993e-3",
            "100000000000000000000000", "4503599627370496.5", "4503599627370497.5", "1.5e15", "2e22", "3e37",
            String(repeating: "9", count: 400), "0." + String(repeating: "0", count: 330) + "1",
            "1" + String(repeating: "0", count: 308), "1" + String(repeating: "0", count: 309),
        ]
        for s in tricky {
            #expect(
                agreesWithSwift(s),
                "\(s): ours \(String(describing: double(s))), Swift \(String(describing: Double(s)))")
            #expect(agreesWithSwift("-" + s), "-\(s)")
        }
    }

    @Test func doubleRandomAgreeWithSwift() {
        var rng = SplitMix64(seed: 2024)
        func rand(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        func digits(_ n: Int) -> String { String((0..<n).map { _ in Character(String(rand(10))) }) }
        var checked = 0
        for _ in 0..<30_000 {
            // Any finite double, as Swift and as %.Ne prints it.
            let d = Double(bitPattern: rng.next())
            guard d.isFinite else { continue }
            #expect(agreesWithSwift(d.description), "\(d)")
            let precise = String(format: "%.\(rand(20))e", d)
            #expect(agreesWithSwift(precise), "\(precise)")
            // Decimal strings of every shape the grammar allows.
            var s = ["", "-", "+"][rand(3)]
            let intDigits = rand(4) == 0 ? 0 : 1 + rand(rand(4) == 0 ? 30 : 12)
            s += digits(intDigits)
            let fracDigits = rand(3) == 0 ? 0 : rand(rand(4) == 0 ? 30 : 10)
            if fracDigits > 0 || intDigits == 0 || rand(4) == 0 {
                s += "." + digits(intDigits == 0 ? max(1, fracDigits) : fracDigits)
            }
            if rand(2) == 0 {
                s += ["e", "E"][rand(2)] + ["", "-", "+"][rand(3)] + String(rand(rand(3) == 0 ? 400 : 30))
            }
            #expect(
                agreesWithSwift(s),
                "\(s): ours \(String(describing: double(s))), Swift \(String(describing: Double(s)))")
            checked += 3
        }
        #expect(checked > 80_000)
    }

    // MARK: JSON numbers

    @Test func jsonNumberGrammar() {
        for s in [
            "0", "-0", "1", "-1", "10", "1.5", "-1.5", "0.5", "1e3", "1E3", "1e+3", "1e-3", "1.5e-3", "-0.0e0",
            "123456789012345678901234567890", "1e400",
        ] {
            #expect(isJSON(s), "\(s)")
        }
        for s in [
            "", "-", "+1", "01", "-01", "00", "1.", ".5", "-.5", "1e", "1e+", "1E-", "1.e3", "0x1", "inf", "NaN", " 1",
            "1 ", "1.5.2", "1e3.5", "--1", "1_0", "١",
        ] {
            #expect(!isJSON(s), "\(s)")
        }
    }

    @Test func jsonNumbersParse() {
        var rng = SplitMix64(seed: 99)
        for _ in 0..<2000 {
            let d = Double(bitPattern: rng.next())
            guard d.isFinite else { continue }
            #expect(isJSON(d.description), "\(d)")
        }
    }

    // MARK: Booleans

    @Test func bools() {
        for s in ["true", "TRUE", "True", "tRuE", "1", "yes", "YES", "Yes"] { #expect(bool(s) == true, "\(s)") }
        for s in ["false", "FALSE", "False", "0", "no", "NO", "No"] { #expect(bool(s) == false, "\(s)") }
        for s in [
            "", "t", "f", "y", "n", "2", "-1", "01", "truee", "tru", "fals", "on", "off", " true", "true ", "nO!",
            "yes\0", "TRUE\u{0}", "T\u{12}UE",
        ] {
            #expect(bool(s) == nil, "\(s)")
        }
    }

    // MARK: GUIDs

    @Test func guids() {
        let canonical = "0f8fad5b-d9cb-469f-a165-70867728950e"
        #expect(guid(canonical) == canonical)
        #expect(guid("0F8FAD5B-D9CB-469F-A165-70867728950E") == canonical)
        #expect(guid("{0f8fad5b-d9cb-469f-a165-70867728950E}") == canonical)
        #expect(guid("00000000-0000-0000-0000-000000000000") == "00000000-0000-0000-0000-000000000000")
        for s in [
            "", "0f8fad5bd9cb469fa16570867728950e", "{0f8fad5b-d9cb-469f-a165-70867728950e",
            "0f8fad5b-d9cb-469f-a165-70867728950e}",
            "(0f8fad5b-d9cb-469f-a165-70867728950e)", "0f8fad5b-d9cb-469f-a165-70867728950g",
            "0f8fad5b-d9cb-469f-a16570867728950e-",
            "0f8fad5bd-9cb-469f-a165-70867728950e", " 0f8fad5b-d9cb-469f-a165-70867728950e",
            "0f8fad5b-d9cb-469f-a165-70867728950",
            "0f8fad5b_d9cb_469f_a165_70867728950e", "0f8fad5b-d9cb-469f-a165-70867728950e0",
            "0f8fad5b-d9cb-469f-a165-7086772895:e",
            "0f8fad5b-d9cb-469f-a165-7086772895@e", "0f8fad5b-d9cb-469f-a165-7086772895Ge",
        ] {
            #expect(guid(s) == nil, "\(s)")
        }
    }

    @Test("every single-byte change of a GUID is judged as the 8-4-4-4-12 definition says")
    func guidEveryByteEveryPosition() {
        let canonical = Array("0f8fad5b-d9cb-469f-a165-70867728950e".utf8)
        let dashes: Set<Int> = [8, 13, 18, 23]
        func isHex(_ c: UInt8) -> Bool {
            (0x30...0x39).contains(c) || (0x41...0x46).contains(c) || (0x61...0x66).contains(c)
        }
        var checked = 0
        for pos in 0..<36 {
            for byte in 0...255 {
                var input = canonical
                input[pos] = UInt8(byte)
                let valid = dashes.contains(pos) ? byte == 0x2D : isHex(UInt8(byte))
                var out = [UInt8](repeating: 0, count: 36)
                let ok = input.withUnsafeBytes { i in
                    out.withUnsafeMutableBytes { ValueParsers.normalizeGUID(i, to: $0.baseAddress!) }
                }
                #expect(ok == valid, "byte \(byte) at \(pos)")
                if ok {
                    let lowered = input.map { (0x41...0x46).contains($0) ? $0 | 0x20 : $0 }
                    #expect(out == lowered, "byte \(byte) at \(pos)")
                }
                checked += 1
            }
        }
        #expect(checked == 36 * 256)
    }

    // MARK: Writing doubles

    @Test func writeDoubleFixedPoints() {
        #expect(written(5.0) == "5.0")
        #expect(written(-0.0) == "-0.0")
        #expect(written(0.1) == "0.1")
        #expect(written(1e20) == "1e+20")
        #expect(written(1e-5) == "1e-05")
        #expect(written(0.30000000000000004) == "0.30000000000000004")
        #expect(written(-.greatestFiniteMagnitude) == "-1.7976931348623157e+308")
        #expect(written(.leastNonzeroMagnitude) == "5e-324")
        #expect(written(.infinity) == "null")
        #expect(written(-.infinity) == "null")
        #expect(written(.nan) == "null")
    }

    @Test func writeDoubleRoundTripsAsJSON() {
        var rng = SplitMix64(seed: 31337)
        var checked = 0
        for k in 0..<50_000 {
            let d: Double
            switch k % 3 {
            case 0: d = Double(bitPattern: rng.next())
            case 1: d = Double(Int64(bitPattern: rng.next()) >> (rng.next() % 64)) / Double(1 << (rng.next() % 20))
            default: d = Double(rng.next() % 100_000_000) / 1000
            }
            guard d.isFinite else { continue }
            let s = written(d)
            #expect(s.utf8.count <= 32)
            #expect(Double(s)?.bitPattern == d.bitPattern, "\(d) -> \(s)")
            #expect(isJSON(s), "\(s)")
            // The shortest digits: the standard library's own shortest round-trip text.
            #expect(s == d.description, "\(d)")
            checked += 1
        }
        #expect(checked > 45_000)
    }
}
