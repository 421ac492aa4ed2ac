import Foundation

/// The streams a data collection rule declares and their columns, read from a small JSON file
/// (`target.dcr` for `preview` and `validate`, `logship emulate --dcr`):
///
/// ```json
/// { "dcrImmutableId": "dcr-…",
///   "streams": { "Custom-AppLogs": { "columns": [ { "name": "TimeGenerated", "type": "datetime" } ] } } }
/// ```
///
/// The DCR resource itself is read too: `properties.immutableId` and
/// `properties.streamDeclarations` as ARM returns it, or the same keys at the top as the Azure
/// CLI prints them.
public struct DCRDeclaration: Sendable, Equatable {
    /// The column types of a stream declaration.
    public enum ColumnType: String, Sendable, CaseIterable, Codable {
        case string, int, long, real, boolean, datetime, dynamic
    }

    public struct Column: Sendable, Equatable, Codable {
        public var name: String
        public var type: ColumnType
        public init(name: String, type: ColumnType) {
            self.name = name
            self.type = type
        }
    }

    public struct Stream: Sendable, Equatable {
        public var name: String
        /// In declaration order.
        public var columns: [Column]
        /// The column named exactly `name`. Names are compared as written: KQL column names are
        /// case-sensitive, and a property that differs in case is not safely the same column.
        public func column(named name: String) -> Column? { columns.first { $0.name == name } }

        public init(name: String, columns: [Column]) {
            self.name = name
            self.columns = columns
        }

        /// The column whose name differs from `name` only in letter case, for a helpful message.
        public func column(ignoringCaseOf name: String) -> Column? {
            columns.first { $0.name.lowercased() == name.lowercased() }
        }
    }

    /// A declaration file that cannot be used: where and what.
    public struct LoadError: Error, CustomStringConvertible, Equatable {
        public var file: String
        /// The key path inside the file (`streams.Custom-AppLogs.columns[2].type`), empty for the whole file.
        public var path: String
        public var message: String
        public var description: String { path.isEmpty ? "\(file): \(message)" : "\(file): \(path): \(message)" }
    }

    public var dcrImmutableId: String?
    /// Sorted by name.
    public var streams: [Stream]

    public init(dcrImmutableId: String?, streams: [Stream]) {
        self.dcrImmutableId = dcrImmutableId
        self.streams = streams.sorted { $0.name < $1.name }
    }

    public func stream(_ name: String) -> Stream? { streams.first { $0.name == name } }

    public static func load(_ url: URL) throws(LoadError) -> DCRDeclaration {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw LoadError(file: url.path, path: "", message: "cannot read the DCR declaration: \(Self.reason(error))")
        }
        return try parse(data, file: url.path)
    }

    public static func parse(_ data: Data, file: String) throws(LoadError) -> DCRDeclaration {
        func fail(_ path: String, _ message: String) -> LoadError {
            LoadError(file: file, path: path, message: message)
        }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw fail(
                "",
                "not a JSON object; expected { \"dcrImmutableId\": \"dcr-…\", \"streams\": { \"Custom-…\": { \"columns\": [ { \"name\": …, \"type\": … } ] } } }"
            )
        }
        var id = root["dcrImmutableId"] as? String
        var streamsNode = root["streams"]
        var prefix = "streams"
        if streamsNode == nil, let props = root["properties"] as? [String: Any] {
            // The ARM resource: the same facts under other names.
            id = props["immutableId"] as? String
            streamsNode = props["streamDeclarations"]
            prefix = "properties.streamDeclarations"
        } else if streamsNode == nil, let declarations = root["streamDeclarations"] {
            // The same with `properties` flattened, as the Azure CLI prints resources.
            id = root["immutableId"] as? String
            streamsNode = declarations
            prefix = "streamDeclarations"
        }
        guard let streamsObject = streamsNode as? [String: Any] else {
            throw fail(
                prefix,
                streamsNode == nil
                    ? "missing; declare the DCR's streams and their columns"
                    : "expected an object of stream name → { columns: [...] }")
        }
        var streams: [Stream] = []
        for (name, node) in streamsObject.sorted(by: { $0.key < $1.key }) {
            let path = "\(prefix).\(name)"
            guard let columnsNode = (node as? [String: Any])?["columns"] as? [Any] else {
                throw fail(
                    "\(path).columns",
                    "missing or not a list; give the stream's columns as [ { \"name\": …, \"type\": … } ]")
            }
            var columns: [Column] = []
            for (k, c) in columnsNode.enumerated() {
                guard let obj = c as? [String: Any], let n = obj["name"] as? String, !n.isEmpty else {
                    throw fail("\(path).columns[\(k)].name", "missing; every column has a name")
                }
                guard let t = obj["type"] as? String, let type = ColumnType(rawValue: t.lowercased()) else {
                    let found = (obj["type"] as? String).map { "\"\($0)\" is not a column type" } ?? "missing"
                    throw fail(
                        "\(path).columns[\(k)].type",
                        "\(found); allowed: \(ColumnType.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                if columns.contains(where: { $0.name.lowercased() == n.lowercased() }) {
                    throw fail(
                        "\(path).columns[\(k)].name", "\"\(n)\" is declared twice (column names ignore letter case)")
                }
                columns.append(Column(name: n, type: type))
            }
            streams.append(Stream(name: name, columns: columns))
        }
        return DCRDeclaration(dcrImmutableId: id, streams: streams)
    }
}

extension DCRDeclaration {
    /// The OS's words for a file that cannot be read, without Foundation's wrapping.
    static func reason(_ error: Error) -> String {
        if let e = error as? CocoaError, let u = e.underlying as? POSIXError { return u.localizedDescription }
        if let e = error as NSError?, let u = e.userInfo[NSUnderlyingErrorKey] as? NSError {
            return u.localizedDescription
        }
        return error.localizedDescription
    }
}
