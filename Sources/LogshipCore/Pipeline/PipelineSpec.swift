import Foundation
import LogshipSupport

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
/// the bounds past which a record is cut (docs/pipeline.md "Multi-line records").
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

    public init(
        start: Start, maxLines: Int = MultilineSpec.defaultMaxLines, maxBytes: Int = MultilineSpec.defaultMaxBytes
    ) {
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
        /// A value logship knows about the record (`from: "$file"`, `"$line"`, …).
        case derived(DerivedValue)
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
    /// `extract`: a regular expression (ICU syntax) searched in the value; its first named group
    /// (or, without named groups, its first group) is the value. No match: the value is absent.
    public var extract: String? = nil
}

/// What `from: "$…"` names: a value that is not in the record but known about it.
public enum DerivedValue: String, Sendable, CaseIterable {
    /// The source file's path relative to the pipeline file's folder (`-` for standard input).
    case file = "$file"
    /// The 1-based line number of the record's first line in its file.
    case line = "$line"
    /// The machine's host name, read once per run.
    case host = "$host"
    /// The pipeline's name (`name`, or the file name without its extension).
    case pipeline = "$pipeline"

    /// The same for every record of a file: computed (and extracted from) once per file.
    public var perFile: Bool { self != .line }
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
    /// Every DCR listed (`dcrImmutableId` is the first): chunks are spread over them.
    public var dcrImmutableIds: [String] = []
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
    /// `columnSuffixes: "data-collector"`: columns carry the names the Data Collector API gave
    /// them (`Level` → `Level_s`), so a migrated `_CL` table keeps serving old queries.
    public var dataCollectorSuffixes = false
}

public enum OversizedValuePolicy: String, Sendable, CaseIterable { case truncate, reject }
public enum TooManyFieldsPolicy: String, Sendable, CaseIterable { case fail, warn, pack }

public struct LimitsSpec: Sendable {
    public static let defaultMaxBodyBytes = 25_000_000
    /// The Logs Ingestion API's default for `maxFields`: a table's column limit.
    public static let logsIngestionMaxFields = 500
    /// The `maxFields` default before it became per-API: what the spec hash counts for a
    /// pipeline that does not write the key.
    static let hashedDefaultMaxFields = 50
    public var maxBodyBytes = LimitsSpec.defaultMaxBodyBytes
    public var maxRecordsPerChunk: Int? = nil
    public var oversizedValue: OversizedValuePolicy = .truncate
    /// Largest value in bytes of UTF-8 (32,766 for the Data Collector API).
    public var maxValueBytes = ServiceLimits.DataCollector.maxValueBytes
    /// Fields per record. The default is the API's: 50 for the Data Collector API (its
    /// recommended ceiling), 500 for the Logs Ingestion API (a table's columns;
    /// docs/service-facts.md).
    public var maxFields = ServiceLimits.DataCollector.recommendedFields
    /// True when `maxFields` was not written in the pipeline: the spec hash then counts the
    /// old default (50), so that state directories written before the per-API default resume.
    public var maxFieldsDefaulted = true
    public var tooManyFields: TooManyFieldsPolicy = .fail
    /// The JSON text column that `pack` puts extra fields into.
    public var packField = "Extra"
}

public struct UploadSpec: Sendable {
    /// The fixed number of uploads in flight, or with `adaptive` (`"auto"`, the default) the
    /// most the ConcurrencyController may reach.
    public var concurrency = 64
    public var adaptive = true

    /// Most uploads in flight: `concurrency`, and with `adaptive` no more than keeps the bodies
    /// in memory near 256 MB (64 bodies of 1 MB, 10 of 25 MB).
    public func ceiling(maxBodyBytes: Int) -> Int {
        adaptive ? max(1, min(concurrency, 256_000_000 / max(1, maxBodyBytes))) : concurrency
    }
    public var maxAttempts = 10
    public var timeoutSeconds = 120.0
    /// Seconds without any answer from the service (every attempt failed to connect or timed
    /// out) after which the run stops, exit 1, dead-lettering nothing: an outage is not the
    /// data's fault, and the next run resumes.
    public var unreachableAfter = 300.0
    /// gzip request bodies (Logs Ingestion API only).
    public var compress = true
    /// The encoder that gzips them (`upload.compression`): logship's own, or zlib.
    public var compression: Gzip.Encoder = .fast
}

public struct ErrorsSpec: Sendable {
    public var maxRejectedRecords = 1000
}
