/// A credential that never prints itself: `description`, `debugDescription` and string
/// interpolation all give `<redacted>`. Read `.value` only where it is sent or hashed.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}
