import Foundation

// `run --adopt`: which pipeline changes a state directory may take over, and why not the others.
extension Engine {
    /// Why a run under `spec` may not resume the state written under another spec, or nil when
    /// it may (`adopt`, and only mapping, filters, source options that keep records as they are,
    /// limits and upload settings changed).
    static func adoptRefusal(_ state: ManifestState, spec: PipelineSpec, adopt: Bool, stateDirectory: URL) -> String? {
        let dir = stateDirectory.path
        guard adopt else {
            return """
                the pipeline changed since the state in \(dir) was written (decoding, fields, limits or table). \
                Run with --adopt to keep what was delivered as it was sent and send the rest with this pipeline \
                (partly delivered files continue at their next record), or with --restart to forget the deliveries \
                and send everything again with it (or give a new --state-dir).
                """
        }
        if let t = state.specTarget, t != spec.specTargetHash {
            return """
                --adopt: the pipeline's table changed (target.api, logType, dcrImmutableId or stream) since the state in \(dir) \
                was written: rows would go to another table, which --adopt does not take over. Give this pipeline a new \
                --state-dir (or --restart to send everything to the new table).
                """
        }
        if let r = state.specReading, r != spec.specReadingHash {
            return """
                --adopt: how files are cut into records changed (source.format, compression, csv delimiter/quote/header/columns \
                or multiline) since the state in \(dir) was written: the delivered record numbers would name other records. \
                Run with --restart to send everything again, or give a new --state-dir.
                """
        }
        let split = state.partlyHandledChunks
        if !split.isEmpty {
            return """
                --adopt: \(split.count) chunk(s) of the earlier pipeline are delivered only in part (split while isolating \
                refused records: \(split.prefix(3).joined(separator: ", "))); their records are known by the old chunks only. \
                Run once more with the earlier pipeline file (or `logship replay`) to finish them, then --adopt.
                """
        }
        return nil
    }
}
