import Foundation
import LogshipSupport
import Testing

@testable import LogshipCore

@Suite struct ResumePlannerTests {
    /// The files under `dir/in`, as a run finds them, with their fingerprints.
    func inputs(_ dir: TempDir) -> ([InputFile], [FileFingerprint?]) {
        let files = FileDiscovery.expand(["in/*.log"], relativeTo: dir.url).files
        return (files, files.map { FileFingerprint.of($0) })
    }

    func lines(_ n: Int, from: Int = 0) -> String { (from..<from + n).map { "line \($0)\n" }.joined() }

    func done(_ f: InputFile, _ fp: FileFingerprint, ordinals: Int64) -> ManifestEntry {
        var e = ManifestEntry(.done)
        e.path = f.relativePath
        e.sample = fp.sample
        e.head = fp.head
        e.size = fp.size
        e.ordinals = ordinals
        return e
    }

    func ack(_ id: String, _ f: InputFile, _ fp: FileFingerprint, _ range: Range<Int64>) -> ManifestEntry {
        var e = ManifestEntry(.ack)
        e.id = id
        e.records = Int(range.count)
        e.seg = [
            ManifestSegment(
                path: f.relativePath, sample: fp.sample, start: range.lowerBound, end: range.upperBound, size: fp.size)
        ]
        return e
    }

    func state(_ entries: [ManifestEntry]) -> ManifestState {
        var s = ManifestState()
        for e in entries { s.apply(e) }
        for k in s.ranges.keys { s.ranges[k] = ManifestState.merge(s.ranges[k]!) }
        return s
    }

    @Test func aDeliveredFileIsDoneAndAPartlyDeliveredOneKeepsItsRanges() throws {
        let dir = TempDir("planner")
        defer { dir.cleanup() }
        _ = dir.write("in/a.log", lines(10))
        _ = dir.write("in/b.log", lines(10, from: 100))
        _ = dir.write("in/c.log", lines(4, from: 200))
        let (files, fps) = inputs(dir)
        let (a, b) = (files[0], files[1])
        let s = state([done(a, fps[0]!, ordinals: 10), ack("c1", b, fps[1]!, 0..<4), ack("c2", b, fps[1]!, 6..<8)])
        let r = ResumePlanner.plan(s, files: files, fingerprints: fps, compression: .auto)
        #expect(r.plan.doneFiles == [0])
        #expect(r.plan.acked == [1: [0..<4, 6..<8]])
        #expect(r.warnings.isEmpty)
        #expect(r.movedDone.isEmpty)
    }

    @Test func aGrownFileKeepsWhatItsShorterVersionDelivered() throws {
        let dir = TempDir("planner")
        defer { dir.cleanup() }
        let path = dir.write("in/app.log", lines(10))
        let (files, fps) = inputs(dir)
        let s = state([done(files[0], fps[0]!, ordinals: 10)])
        let handle = try FileHandle(forWritingTo: path)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(lines(5, from: 10).utf8))
        try handle.close()
        let (grown, grownFps) = inputs(dir)
        let r = ResumePlanner.plan(s, files: grown, fingerprints: grownFps, compression: .auto)
        #expect(r.plan.doneFiles.isEmpty)
        #expect(r.plan.acked == [0: [0..<10]])
        #expect(r.warnings == ["in/app.log grew since the last run; its earlier records are not sent again"])
    }

    @Test func aChangedFileIsSentAgainInFull() throws {
        let dir = TempDir("planner")
        defer { dir.cleanup() }
        _ = dir.write("in/app.log", lines(10))
        let (files, fps) = inputs(dir)
        let s = state([done(files[0], fps[0]!, ordinals: 10)])
        _ = dir.write("in/app.log", lines(10, from: 50))
        let (changed, changedFps) = inputs(dir)
        let r = ResumePlanner.plan(s, files: changed, fingerprints: changedFps, compression: .auto)
        #expect(r.plan.doneFiles.isEmpty && r.plan.acked.isEmpty)
        #expect(
            r.warnings == ["in/app.log changed since it was delivered (its content differs); it is sent again in full"])
    }

    @Test func aRenamedDeliveredFileIsRecordedDoneUnderItsNewName() throws {
        let dir = TempDir("planner")
        defer { dir.cleanup() }
        _ = dir.write("in/app.log", lines(10))
        let (files, fps) = inputs(dir)
        let s = state([done(files[0], fps[0]!, ordinals: 10)])
        try FileManager.default.moveItem(at: dir.file("in/app.log"), to: dir.file("in/app.1.log"))
        _ = dir.write("in/app.log", lines(3, from: 900))
        let (now, nowFps) = inputs(dir)
        let r = ResumePlanner.plan(s, files: now, fingerprints: nowFps, compression: .auto)
        let renamed = try #require(now.firstIndex { $0.relativePath == "in/app.1.log" })
        #expect(r.plan.doneFiles == [renamed])
        #expect(r.movedDone.map(\.path) == ["in/app.1.log"])
        #expect(r.movedDone.first?.kind == .done && r.movedDone.first?.ordinals == 10)
        // The new file at the old path is new content, not a changed version of the delivered one.
        #expect(!r.warnings.contains { $0.contains("changed since") })
    }
}
