/// The names of a set of `Counters`: an enum whose `Int` raw values are its positions
/// (`case a, b, c` without explicit values), so a counter is found by index, never by hashing.
public protocol CounterName: CaseIterable, Hashable, Sendable, RawRepresentable
where RawValue == Int, AllCases == [Self] {}

/// Whole-number figures kept by name (counts, and a few maxima) and reported by name: the client's
/// transformer and the emulator each name their own (`Transformer.Counter`, `EmulatorCounter`) and
/// keep them here. Encoded as a JSON object by case name; a name missing when decoding reads as 0.
///
/// The figures are stored inline (at most `capacity` names), not in an array: the transformer
/// takes a copy per record to undo a record it refuses, and a copy must not allocate.
public struct Counters<Name: CounterName>: Sendable, Equatable {
    public static var capacity: Int { 32 }
    // Inlinable, so the transformer's per-record counts compile to a store in its own module
    // instead of an unspecialized generic call across the module boundary (CSV typed ran
    // 0.83 x as fast before this, measured interleaved against the Stats struct it replaced).
    @usableFromInline var values = InlineArray<32, Int>(repeating: 0)

    @inlinable public init() {
        precondition(Name.allCases.count <= Self.capacity, "more counter names than Counters holds")
    }

    @inlinable public static func == (a: Counters, b: Counters) -> Bool {
        for k in a.values.indices where a.values[k] != b.values[k] { return false }
        return true
    }

    @inlinable public subscript(_ name: Name) -> Int {
        get { values[name.rawValue] }
        set { values[name.rawValue] = newValue }
    }

    /// The case name a figure is reported under (`records` for `.records`).
    public static func key(_ name: Name) -> String { String(describing: name) }
}

extension Counters: Codable {
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Reads the figures from the keyed container at this level (other keys there are left to the
    /// caller, so the figures can sit beside other members of an enclosing type).
    public init(from decoder: any Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: Key.self)
        for name in Name.allCases {
            self[name] = try c.decodeIfPresent(Int.self, forKey: Key(stringValue: Self.key(name))) ?? 0
        }
    }

    /// Writes the figures into the keyed container at this level (shared with an enclosing type's
    /// own members when it encodes them there too).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        for name in Name.allCases { try c.encode(self[name], forKey: Key(stringValue: Self.key(name))) }
    }
}
