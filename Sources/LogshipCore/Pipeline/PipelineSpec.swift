import Foundation

/// A loaded, checked pipeline file. Every field has its default filled in; credentials are
/// kept as references until `CredentialResolver` settles them (flags, environment, file).
public struct PipelineSpec: Sendable {
    public var file: URL
    public var version: Int
    public var name: String
    public var source: SourceSpec
    public var fields: FieldsSpec
    public var target: TargetSpec
    public var limits: LimitsSpec
    public var upload: UploadSpec
    public var errors: ErrorsSpec

    /// The folder relative paths are resolved against.
    public var baseDirectory: URL { file.deletingLastPathComponent() }
}

/// `json`: one array of objects, a single object, or a sequence of top-level objects and
/// arrays (pretty-printed or not); each object is a record.
public enum InputFormat: String, Sendable, CaseIterable { case csv, ndjson, json, lines }
public enum Compression: String, Sendable, CaseIterable { case auto, gzip, none }
public enum InvalidUTF8Policy: String, Sendable, CaseIterable { case replace, reject }

public struct SourceSpec: Sendable {
    public var files: [String]
    public var format: InputFormat
    public var compression: Compression = .auto
    public var invalidUTF8: InvalidUTF8Policy = .replace
    public var lines: LinesSpec? = nil
    public var csv: CSVSpec = CSVSpec()
    /// `**` enters symlinked folders (with loop detection); off by default.
    public var followSymlinks = false
    /// `source.multiline` (format "lines" only): lines grouped into records.
    public var multiline: MultilineSpec? = nil
    /// `source.timezone`: the IANA zone of datetime values written without an offset (a
    /// datetime field's own `timezone` wins). nil: such values are UTC.
    public var timezone: String? = nil
}

/// `source.multiline`: which lines begin a record (the others continue the open one), and
/// the bounds past which a record is cut (README "Multi-line records").
public struct MultilineSpec: Sendable, Equatable {
    public enum Start: Sendable, Equatable {
        /// Byte-level rules for a kind of stack trace.
        case preset(MultilinePreset)
        /// A line the regular expression matches (ICU syntax) begins a record.
        case regex(String)
    }
    public static let defaultMaxLines = 1000
    public static let defaultMaxBytes = 1 << 20
    public var start: Start
    public var maxLines = MultilineSpec.defaultMaxLines
    public var maxBytes = MultilineSpec.defaultMaxBytes

    public init(start: Start, maxLines: Int = MultilineSpec.defaultMaxLines, maxBytes: Int = MultilineSpec.defaultMaxBytes) {
        self.start = start
        self.maxLines = maxLines
        self.maxBytes = maxBytes
    }

    /// For the spec hash and messages: the preset's name or the regex, and the bounds.
    public var canonical: String {
        switch start {
        case .preset(let p): return "preset:\(p.rawValue),\(maxLines),\(maxBytes)"
        case .regex(let r): return "regex:\(r),\(maxLines),\(maxBytes)"
        }
    }
}

/// Stack-trace kinds `source.multiline` knows without a regex.
public enum MultilinePreset: String, Sendable, CaseIterable { case java, python, go }

public struct LinesSpec: Sendable {
    /// A preset name (`nginx-combined`, …) or a regular expression with named groups.
    public var pattern: String
}

public struct CSVSpec: Sendable {
    public var delimiter: UInt8 = UInt8(ascii: ",")
    public var quote: UInt8 = UInt8(ascii: "\"")
    public var header = true
    public var columns: [String]? = nil
    /// Unquoted values that stand for "no value" in every column (`source.nullValues`): such a
    /// field is absent from the record, not text. A quoted value never matches (PostgreSQL's rule:
    /// `,,` is NULL, `,"",` is an empty string).
    public var nullValues: [String] = []
    /// Per input column, the null tokens its mappings add (`fields.map.X.nullValues`, by `from`).
    public var columnNullValues: [String: [String]] = [:]
}

public enum FieldType: String, Sendable, CaseIterable {
    case string, int, long, double, bool, datetime, guid, json
}

public enum ConversionFailure: String, Sendable, CaseIterable { case reject, null }

/// One entry of `fields.map`: an output column and where its value comes from.
public struct FieldMapping: Sendable {
    public enum Source: Sendable {
        /// The value of an input field (a dotted path reaches into nested NDJSON objects).
        case input(String)
        /// The same value in every record.
        case constant(JSONNode)
    }
    public var output: String
    public var source: Source
    /// nil keeps the input's own type (a rename).
    public var type: FieldType?
    public var format: String?
    /// `timezone` (datetime only): the IANA zone of values written without an offset.
    public var timezone: String? = nil
    public var defaultValue: JSONNode?
    public var onError: ConversionFailure = .reject
    /// CSV: unquoted values of the input field that mean "no value" (besides `source.nullValues`).
    public var nullValues: [String]? = nil
}

/// A JSON scalar a `fields.where` condition compares with.
public enum FilterValue: Sendable, Equatable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null
}

/// One test of a `fields.where` condition on an input field.
public enum FilterTest: Sendable {
    case equals(FilterValue)
    case oneOf([FilterValue])
    /// A regular expression (ICU syntax), searched anywhere in the value.
    case matches(String)
    /// `gt`, `gte`, `lt`, `lte`: numerically against a number, byte for byte against a string.
    case compare(FilterComparison, FilterValue)
    /// Present and not null (true), or absent or null (false).
    case exists(Bool)
}

public enum FilterComparison: String, Sendable, CaseIterable { case gt, gte, lt, lte }

/// An entry of `fields.where`: every test on one input field holds, or one of `any` does.
public indirect enum FilterCondition: Sendable {
    case field(String, [FilterTest])
    case any([FilterCondition])
}

public struct FieldsSpec: Sendable {
    public var map: [FieldMapping] = []
    public var passthrough = true
    public var drop: [String] = []
    /// Name of a deterministic id column (file fingerprint + record ordinal), for dedupe.
    public var recordId: String? = nil
    /// `fields.where`: conditions on the input record that must all hold for it to be sent.
    public var filter: [FilterCondition] = []
}

public enum TargetAPI: String, Sendable, CaseIterable {
    case dataCollector = "data-collector"
    case logsIngestion = "logs-ingestion"
}

/// A credential or endpoint as written in the file: a literal, or `${VAR}` that was not set.
public enum ConfigValue: Sendable, Equatable {
    case value(String)
    case unsetVariable(String)

    public var value: String? { if case .value(let v) = self { return v } else { return nil } }
}

public struct TargetSpec: Sendable {
    public var api: TargetAPI = .dataCollector
    public var logType: String = ""
    public var timeGeneratedField: String? = nil
    public var workspaceId: ConfigValue? = nil
    public var sharedKey: ConfigValue? = nil
    /// A file holding the shared key, read at start (relative paths: the pipeline's folder).
    public var sharedKeyFile: ConfigValue? = nil
    public var cloud: String = "public"
    public var endpoint: ConfigValue? = nil
    public var resourceId: String? = nil
    // Logs Ingestion API
    public var dcrImmutableId: String? = nil
    public var stream: String? = nil
    public var tenantId: ConfigValue? = nil
    public var clientId: ConfigValue? = nil
    public var clientSecret: ConfigValue? = nil
    /// A file holding the client secret, read at start (relative paths: the pipeline's folder).
    public var clientSecretFile: ConfigValue? = nil
    public var federatedTokenFile: ConfigValue? = nil
    /// Tokens from the Azure host's managed identity (`clientId`, if any, names a user-assigned one).
    public var managedIdentity = false
    public var authorityHost: String? = nil
    public var dcr: String? = nil
}

public enum OversizedValuePolicy: String, Sendable, CaseIterable { case truncate, reject }
public enum TooManyFieldsPolicy: String, Sendable, CaseIterable { case fail, warn, pack }

public struct LimitsSpec: Sendable {
    public static let defaultMaxBodyBytes = 25_000_000
    public var maxBodyBytes = LimitsSpec.defaultMaxBodyBytes
    public var maxRecordsPerChunk: Int? = nil
    public var oversizedValue: OversizedValuePolicy = .truncate
    /// Largest value in bytes of UTF-8 (the Data Collector API's; a Logs Ingestion pipeline
    /// gets its API's when it does not say).
    public var maxValueBytes = ServiceLimits.DataCollector.maxValueBytes
    public var maxFields = ServiceLimits.DataCollector.recommendedFields
    public var tooManyFields: TooManyFieldsPolicy = .fail
    /// The JSON text column that `pack` puts extra fields into.
    public var packField = "Extra"
}

public struct UploadSpec: Sendable {
    public var concurrency = 4
    public var maxAttempts = 10
    public var timeoutSeconds = 120.0
    /// Seconds without any answer from the service (every attempt failed to connect or timed
    /// out) after which the run stops, exit 1, dead-lettering nothing: an outage is not the
    /// data's fault, and the next run resumes.
    public var unreachableAfter = 300.0
    /// gzip request bodies (Logs Ingestion API only).
    public var compress = true
}

public struct ErrorsSpec: Sendable {
    public var maxRejectedRecords = 1000
}
