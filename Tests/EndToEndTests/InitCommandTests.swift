import Foundation
import Testing

/// `logship init` writes pipelines that validate as written, and never overwrites by accident.
@Suite struct InitCommandTests {
    static let formats = ["ndjson", "csv", "json", "nginx", "syslog", "lines"]
    static let targets = ["logs-ingestion", "data-collector"]

    @Test(arguments: formats, targets)
    func starterValidatesAsWritten(format: String, target: String) throws {
        let dir = TempDir("logship-init")
        defer { dir.cleanup() }
        let file = dir.file("starter.json5")
        let w = try run(["init", "--format", format, "--target", target, "-o", file.path])
        #expect(w.status == 0, "init: \(w.stderr)")
        let v = try run(["validate", file.path])
        #expect(v.status == 0, "init --format \(format) --target \(target) does not validate: \(v.stderr)")
        // Only the warning that the starter's glob matches nothing yet.
        let problems = v.stderr.split(separator: "\n").filter { !$0.contains("warning: source.files") }
        #expect(problems.isEmpty, "\(problems)")
        #expect(v.stdout.contains(target == "logs-ingestion" ? "Logs Ingestion API" : "Data Collector API"))
        // Printed to stdout, it validates too.
        let printed = try run(["init", "--format", format, "--target", target])
        #expect(printed.status == 0)
        let copy = dir.write("printed.json5", printed.stdout)
        #expect(try run(["validate", copy.path]).status == 0)
    }

    @Test func defaultTargetIsLogsIngestion() throws {
        let r = try run(["init"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("api: \"logs-ingestion\""))
        #expect(r.stdout.contains("format: \"ndjson\""))
    }

    @Test func refusesToOverwriteWithoutForce() throws {
        let dir = TempDir("logship-init")
        defer { dir.cleanup() }
        let file = dir.write("mine.json5", "// mine\n")
        let r = try run(["init", "-o", file.path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--force"))
        #expect(try String(contentsOf: file, encoding: .utf8) == "// mine\n")
        let f = try run(["init", "--output", file.path, "--force", "--format", "csv"])
        #expect(f.status == 0, "\(f.stderr)")
        #expect(try String(contentsOf: file, encoding: .utf8).contains("format: \"csv\""))
    }

    @Test func rejectsWhatItDoesNotWrite() throws {
        #expect(try run(["init", "--format", "xml"]).status == 2)
        #expect(try run(["init", "--target", "event-hubs"]).status == 2)
        #expect(try run(["init", "extra"]).status == 2)
        #expect(try run(["init", "--force"]).status == 2)
        #expect(try run(["init", "--from", "/nonexistent/x.ndjson"]).status == 2)
    }

    /// `--from` reads the sample the way preview does: the columns and their types come out,
    /// and the pipeline delivers every record of the sample to the emulator.
    @Test func fromSampleMapsItsColumnsAndDelivers() throws {
        let dir = TempDir("logship-init")
        defer { dir.cleanup() }
        let sample = Binary.packageRoot.appendingPathComponent("samples/app/app-2026-11-22.ndjson")
        let file = dir.file("app.json5")
        let w = try run(["init", "--from", sample.path, "--target", "data-collector", "-o", file.path])
        #expect(w.status == 0, "\(w.stderr)")
        let text = try String(contentsOf: file, encoding: .utf8)
        for line in [
            "time: { from: \"time\", type: \"datetime\" }", "requestId: { from: \"requestId\", type: \"guid\" }",
            "cached: { from: \"cached\", type: \"bool\" }", "client: { from: \"client\", type: \"json\" }",
            "level: \"level\"", "timeGeneratedField: \"time\"",
        ] {
            #expect(text.contains(line), "init --from: no \(line) in\n\(text)")
        }
        #expect(try run(["validate", file.path]).status == 0)
        let records = try String(contentsOf: sample, encoding: .utf8).split(separator: "\n").count
        let r = try run(["run", file.path, "--local", "--progress", "none"], env: samplesClock, cwd: dir.url)
        #expect(r.status == 0, "run --local: \(r.stderr)")
        #expect(r.stdout.contains("\(records) row(s)"), "\(r.stdout)")

        // The same sample for the Logs Ingestion API: TimeGenerated comes from its time column.
        let li = try run(["init", "--from", sample.path])
        #expect(li.stdout.contains("TimeGenerated: { from: \"time\", type: \"datetime\" }"))
        // A CSV sample: its header names the columns.
        let csv = try run([
            "init", "--from", Binary.packageRoot.appendingPathComponent("samples/orders/orders-2026-11-21.csv").path,
        ])
        #expect(
            csv.status == 0 && csv.stdout.contains("format: \"csv\"") && csv.stdout.contains("order_id: \"order_id\""),
            "\(csv.stdout)\(csv.stderr)")
        // A name that says nothing of the format needs --format.
        #expect(
            try run(["init", "--from", Binary.packageRoot.appendingPathComponent("samples/syslog/messages").path])
                .status == 2)
    }
}
