import Foundation
import Testing

@testable import LogshipCore

/// Globs over trees with symbolic links: each file is listed once.
struct FileDiscoveryTests {
    /// `tree/a/b/x.gz`, and `tree/alink -> a`.
    func tree() throws -> TempDir {
        let dir = TempDir()
        _ = dir.write("tree/a/b/x.gz", "x\n")
        _ = dir.write("tree/a/y.log", "y\n")
        try FileManager.default.createSymbolicLink(atPath: dir.file("tree/alink").path, withDestinationPath: "a")
        return dir
    }

    /// `**` used to follow `alink` and list `tree/alink/b/x.gz` beside `tree/a/b/x.gz`.
    @Test func doubleStarDoesNotEnterSymlinkedFolders() throws {
        let dir = try tree()
        defer { dir.cleanup() }
        let r = FileDiscovery.expand(["tree/**/*.gz"], relativeTo: dir.url)
        #expect(r.files.map(\.relativePath) == ["tree/a/b/x.gz"])
        #expect(r.errors.isEmpty)
    }

    /// A file linked to, and a file two patterns match, are listed once: as the first path in
    /// sorted order.
    @Test func oneFileReachedByManyPathsIsListedOnce() throws {
        let dir = try tree()
        defer { dir.cleanup() }
        try FileManager.default.createSymbolicLink(atPath: dir.file("tree/z.log").path, withDestinationPath: "a/y.log")
        let r = FileDiscovery.expand(
            ["tree/*.log", "tree/**/*.log", "tree/a/y.log", "tree/alink/y.log"], relativeTo: dir.url)
        #expect(r.files.map(\.relativePath) == ["tree/a/y.log"])
        #expect(r.files.map(\.index) == [0])
    }
}
