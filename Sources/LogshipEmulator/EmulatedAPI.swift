/// The services the emulator plays and the constants they check, written from the reference
/// (docs/service-facts.md), not read from the client: a wrong constant in the client must be
/// refused here, not agreed with.
public enum EmulatedAPI: Sendable, Equatable {
    case dataCollector
    case logsIngestion

    /// `POST /api/logs?api-version=…` of the HTTP Data Collector API.
    static let dataCollectorVersion = "2016-04-01"
    /// `…/streams/{stream}?api-version=…` of the Logs Ingestion API.
    static let logsIngestionVersion = "2023-01-01"
    /// The Logs Ingestion API takes at most 1 MB per call (413 above).
    static let logsIngestionMaxBodyBytes = 1_000_000
    /// RFC 7523's assertion type, the only one Entra ID's token endpoint takes for federated
    /// credentials.
    static let jwtBearerAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
}
