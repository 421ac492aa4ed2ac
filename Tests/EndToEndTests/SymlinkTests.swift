import Foundation
import Testing

/// Source trees with symbolic links: a glob always ends, and a file is read once however
/// many paths reach it.
@Suite(.serialized) struct SymlinkTests {
    /// `tree/a/b/x.ndjson`, `tree/a/y.ndjson`, `tree/alink -> a`, `tree/a/loop -> ..` (the tree).
    func loopingTree(_ dir: TempDir) throws {
        dir.write("tree/a/b/x.ndjson", records(0..<10))
        dir.write("tree/a/y.ndjson", records(10..<20))
        try FileManager.default.createSymbolicLink(atPath: dir.file("tree/alink").path, withDestinationPath: "a")
        try FileManager.default.createSymbolicLink(atPath: dir.file("tree/a/loop").path, withDestinationPath: "..")
    }

    /// A link back up the tree used to keep `**` walking for minutes (in the kernel, resolving
    /// ever longer paths). `validate` runs in a process of its own, killed by its PID past the
    /// time limit, so a regression fails instead of hanging the tests.
    @Test func aSymlinkLoopUnderDoubleStarEnds() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        try loopingTree(dir)
        let p = dir.write(
            "p.json5",
            """
            { version: 1, name: "links", source: { files: ["tree/**/*.ndjson"], format: "ndjson" }, target: { logType: "Links" } }
            """)
        let r = try run(["validate", p.path], timeout: 30)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("2 file(s)"), "\(r.stdout)")
    }

    /// With `source.followSymlinks: true`, `**` enters linked folders, but not one it is
    /// already inside, and a file reached through a link is listed once (the first path in
    /// sorted order), with a warning naming both paths.
    @Test func followedSymlinksStopAtLoopsAndListEachFileOnce() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        try loopingTree(dir)
        dir.write("tree/c/z.ndjson", records(20..<30))
        try FileManager.default.createSymbolicLink(atPath: dir.file("tree/a/clink").path, withDestinationPath: "../c")
        let p = dir.write(
            "p.json5",
            """
            { version: 1, name: "links", source: { files: ["tree/**/*.ndjson"], format: "ndjson", followSymlinks: true },
              target: { logType: "Links" } }
            """)
        let r = try run(["validate", p.path], timeout: 30)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("3 file(s)"), "\(r.stdout)")
        #expect(r.stderr.contains("tree/c/z.ndjson is the same file as tree/a/clink/z.ndjson"), "\(r.stderr)")
        let bad = dir.write(
            "bad.json5",
            """
            { version: 1, name: "links", source: { files: ["tree/**/*.ndjson"], format: "ndjson", followSymlinks: "yes" },
              target: { logType: "Links" } }
            """)
        let b = try run(["validate", bad.path], timeout: 30)
        #expect(b.status == 2)
        #expect(b.stderr.contains("source.followSymlinks"), "\(b.stderr)")
    }

    /// A folder linked into the tree, a file linked to, and two patterns over the same files:
    /// every record id arrives once, against `logship emulate` (ids compared, not totals).
    @Test func aFileReachedByManyPathsIsSentOnce() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let emu = try EmulatorProcess([], dataDir: dir.file("emu"))
        defer { emu.stop() }
        dir.write("tree/a/b/x.ndjson", records(0..<400))
        dir.write("tree/a/y.ndjson", records(400..<700))
        try FileManager.default.createSymbolicLink(atPath: dir.file("tree/alink").path, withDestinationPath: "a")
        try FileManager.default.createSymbolicLink(
            atPath: dir.file("tree/z-link.ndjson").path, withDestinationPath: "a/y.ndjson")
        let p = pipeline(
            dir, files: ["tree/**/*.ndjson", "tree/a/*.ndjson"], extra: "fields: { recordId: \"LogshipId\" },")
        let state = dir.file("state")
        let r = try run(
            ["run", p.path, "--endpoint", emu.url.absoluteString, "--state-dir", state.path, "--progress", "none"],
            env: emu.env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("tree/z-link.ndjson is the same file as tree/a/y.ndjson"), "\(r.stderr)")
        var ids: [String: Int] = [:]
        for row in emu.rows("Engine_CL") { if let id = row["LogshipId_g"] as? String { ids[id, default: 0] += 1 } }
        #expect(ids.count == 700, "every record arrives")
        #expect(
            ids.filter { $0.value > 1 }.isEmpty,
            "\(ids.filter { $0.value > 1 }.count) record ids arrived more than once")
        #expect(seqCounts(emu).count == 700)
    }
}
