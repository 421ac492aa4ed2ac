import Foundation

@testable import LogshipCore

/// A one-file pipeline over `input` in a scratch folder, opened as `run` opens it: its decoder
/// and a transformer that has begun the file. The transform tests drive it record by record.
struct TransformHarness {
    let spec: PipelineSpec
    let decoder: RecordDecoder
    let transformer: Transformer

    /// - Parameters:
    ///   - body: the pipeline's keys besides `source` and `target` (`fields: { … }`).
    ///   - extraSource: more `source` keys, written after `format`.
    init(
        _ body: String, format: String, input: String, extraSource: String = "", fileKey: UInt64 = 0x0102_0304_0506_0708
    ) throws {
        let dir = TempDir("transform")
        defer { dir.cleanup() }
        let ext = ["csv": "csv", "lines": "log", "json": "json"][format] ?? "ndjson"
        _ = dir.write("in.\(ext)", input)
        let p = dir.write(
            "p.json5",
            """
            { version: 1, source: { files: ["in.\(ext)"], format: "\(format)" \(extraSource) },
              \(body),
              target: { logType: "T" } }
            """)
        let r = PipelineLoader(environment: [:]).load(p)
        guard let spec = r.spec else { throw PipelineErrors(problems: r.problems) }
        let file = FileDiscovery.expand(spec.source.files, relativeTo: spec.baseDirectory).files[0]
        let (decoder, names) = try DecoderFactory.open(file, spec: spec.source)
        let t = Transformer(spec: spec)
        t.beginFile(fileKey: fileKey, names: names, path: file.relativePath)
        self.spec = spec
        self.decoder = decoder
        self.transformer = t
    }
}
