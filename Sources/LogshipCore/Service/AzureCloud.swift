import Foundation

/// The Azure clouds `target.cloud` names, and each one's hosts (docs/service-facts.md): the one
/// table the token provider, the Data Collector target and Resource Manager requests read.
public struct AzureCloud: Sendable, Equatable {
    /// As `target.cloud` writes it.
    public let name: String
    /// Entra ID, where tokens come from.
    public let authorityHost: URL
    /// The Azure Monitor ingestion token scope (the double slash is part of it).
    public let ingestionScope: String
    /// Azure Resource Manager (`logship dcr --apply`); its token scope is this plus `/.default`.
    public let managementEndpoint: URL
    /// The domain of the Data Collector API's hosts: `https://<workspace>.ods.opinsights.<suffix>`.
    public let dataCollectorSuffix: String

    public static let all: [AzureCloud] = [
        AzureCloud(
            name: "public", authorityHost: URL(string: "https://login.microsoftonline.com")!,
            ingestionScope: "https://monitor.azure.com//.default",
            managementEndpoint: URL(string: "https://management.azure.com")!, dataCollectorSuffix: "azure.com"),
        AzureCloud(
            name: "usgov", authorityHost: URL(string: "https://login.microsoftonline.us")!,
            ingestionScope: "https://monitor.azure.us//.default",
            managementEndpoint: URL(string: "https://management.usgovcloudapi.net")!, dataCollectorSuffix: "azure.us"),
        AzureCloud(
            name: "china", authorityHost: URL(string: "https://login.chinacloudapi.cn")!,
            ingestionScope: "https://monitor.azure.cn//.default",
            managementEndpoint: URL(string: "https://management.chinacloudapi.cn")!, dataCollectorSuffix: "azure.cn"),
    ]

    /// The names `target.cloud` allows, in the table's order.
    public static var names: [String] { all.map(\.name) }

    /// The cloud `name` names; nil for an unknown name.
    public static func named(_ name: String) -> AzureCloud? { all.first { $0.name == name } }
}
