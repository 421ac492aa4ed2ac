/// What the two ingestion APIs accept, per API, as docs/service-facts.md states it. The client's
/// code refers to these names and to no literal of its own. The emulator keeps its own constants
/// (LogshipEmulator/EmulatedAPI.swift) so that a wrong number here is refused there, not agreed with.
public enum ServiceLimits {
    /// HTTP Data Collector API (docs/service-facts.md, "HTTP Data Collector API").
    public enum DataCollector {
        /// Bytes of one request body, exactly as sent (decimal: 30 MB).
        public static let maxBodyBytes = 30_000_000
        /// Bytes of UTF-8 in one value; the service cuts longer values here, silently.
        public static let maxValueBytes = 32_766
        /// Custom columns in one table; the service drops the rest.
        public static let maxFields = 500
        /// Fields per record type the service recommends (logship's default `limits.maxFields`).
        public static let recommendedFields = 50
        /// Characters in a column name (letters, digits and `_`).
        public static let maxFieldNameLength = 45
        /// Characters in a Log-Type (letters, digits and `_`).
        public static let maxLogTypeLength = 100
    }

    /// Logs Ingestion API (docs/service-facts.md, "Logs Ingestion API").
    public enum LogsIngestion {
        /// Bytes of one request body, gzipped or not (1 MB).
        public static let maxBodyBytes = 1_000_000
        /// Bytes of UTF-8 in one value: values over 64 KB are cut, so logship keeps them below.
        public static let maxValueBytes = 65_535
    }
}
