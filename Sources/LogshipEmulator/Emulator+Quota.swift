import Foundation
import LogshipSupport

/// The per-DCR quota of the Logs Ingestion API (docs/service-facts.md): 2 GB of data and
/// 12,000 requests per minute per data collection rule; above either, 429 with `Retry-After`.
///
/// The emulator counts in **fixed windows**: window k of DCR d spans
/// [start + k·W, start + (k+1)·W) where start is the emulator's start and W one minute (or
/// `--quota-window-ms`, a knob for tests). A request is counted when it passes the check (a
/// request then refused for its body still counted); a 429 is not counted. Bytes are the body
/// as decoded (after gzip): the larger of the two, the safe side. A body alone larger than the
/// byte quota is let through when it is the window's first, so it cannot be refused for ever.
public struct DCRQuota: Sendable, Equatable {
    public var requestsPerWindow: Int
    public var bytesPerWindow: Int
    public var windowSeconds: Double
    /// `Retry-After` in whole seconds, rounded up, as the service sends it; with a test window
    /// (`--quota-window-ms`), in seconds with three decimals so short windows stay exact.
    public var fractionalRetryAfter = false

    public static let serviceRequestsPerMinute = 12_000
    public static let serviceBytesPerMinute = 2_000_000_000

    public init(
        requestsPerWindow: Int = serviceRequestsPerMinute, bytesPerWindow: Int = serviceBytesPerMinute,
        windowSeconds: Double = 60
    ) {
        self.requestsPerWindow = requestsPerWindow
        self.bytesPerWindow = bytesPerWindow
        self.windowSeconds = windowSeconds
    }
}

/// What the quota did for one DCR (in `stats.json` under `quota`).
public struct DCRQuotaStats: Codable, Sendable, Equatable {
    public struct Window: Codable, Sendable, Equatable {
        /// The window's number since the emulator started.
        public var index: Int
        public var requests = 0
        public var bytes = 0
        public var throttled = 0
    }
    /// Requests let through, and those answered 429.
    public var accepted = 0
    public var throttled = 0
    /// The most recent windows (at most 1,000), oldest first.
    public var windows: [Window] = []
}

extension Emulator {
    /// nil when the request fits the DCR's quota (it is then counted), else the 429 to answer.
    func quotaCheck(dcr: String, bytes: Int) -> ServerReply? {
        guard let q = config.quota else { return nil }
        let elapsed = max(0, now().timeIntervalSince(startedAt))
        let index = Int(elapsed / q.windowSeconds)
        let reply: (Double, String)? = lock.withLock {
            var s = stats.quota[dcr] ?? DCRQuotaStats()
            if s.windows.last?.index != index {
                s.windows.append(DCRQuotaStats.Window(index: index))
                if s.windows.count > 1000 { s.windows.removeFirst(s.windows.count - 1000) }
            }
            var w = s.windows[s.windows.count - 1]
            var over: String? = nil
            if w.requests + 1 > q.requestsPerWindow {
                over =
                    "the data collection rule's request rate limit (\(q.requestsPerWindow) requests per \(Self.span(q.windowSeconds))) was exceeded"
            } else if w.requests > 0, w.bytes + bytes > q.bytesPerWindow {
                over =
                    "the data collection rule's data rate limit (\(q.bytesPerWindow) bytes per \(Self.span(q.windowSeconds))) was exceeded"
            }
            if over != nil {
                w.throttled += 1
                s.throttled += 1
                stats[.throttled] += 1
            } else {
                w.requests += 1
                w.bytes += bytes
                s.accepted += 1
            }
            s.windows[s.windows.count - 1] = w
            stats.quota[dcr] = s
            guard let over else { return nil }
            return (Double(index + 1) * q.windowSeconds - elapsed, over)
        }
        guard let (wait, why) = reply else { return nil }
        let retryAfter =
            q.fractionalRetryAfter ? String(format: "%.3f", max(0.001, wait)) : String(Int(max(1, wait.rounded(.up))))
        return ingestionError(
            429, "TooManyRequests", "\(why); retry after \(retryAfter) seconds.", headers: [("Retry-After", retryAfter)]
        )
    }

    static func span(_ seconds: Double) -> String {
        seconds == 60 ? "minute" : "\(seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)) s"
    }
}
