import Foundation
import LogshipSupport

#if canImport(Glibc)
    import Glibc
#endif

/// One input file of a run.
public struct InputFile: Sendable, Equatable {
    /// Position in the run's sorted list.
    public var index: Int
    /// Absolute path ("-" for stdin).
    public var path: String
    /// Path relative to the pipeline file's folder, as shown to users and kept in the manifest.
    public var relativePath: String
    public var size: Int64
    public var modified: Double
}

/// Expands `source.files` globs (`*`, `?`, `[abc]`, `**`) relative to the pipeline file.
///
/// `**` does not enter symlinked folders unless asked to (`source.followSymlinks`): a link
/// back up the tree would make the walk endless, and a link to a folder the walk also reaches
/// directly would read its files twice. Followed, a link is not entered when it leads to a
/// folder the walk is already inside (by device and inode). Either way, one file (device and
/// inode) is listed once however many paths or patterns reach it.
public enum FileDiscovery {
    public struct Result: Sendable {
        public var files: [InputFile]
        /// Patterns that matched nothing (a warning, not an error).
        public var unmatched: [String]
        /// Problems that stop the run: a folder that does not exist, an unreadable folder.
        public var errors: [String]
        /// Paths left out because an earlier one (in sorted order) is the same file.
        public var warnings: [String] = []
    }

    /// Where a file or folder is on disk, whatever path reaches it.
    struct FileID: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    public static func expand(_ patterns: [String], relativeTo base: URL, followSymlinks: Bool = false) -> Result {
        var found = Set<String>()
        var unmatched: [String] = []
        var errors: [String] = []
        var warnings: [String] = []
        var stdin = false
        for pattern in patterns {
            if pattern == "-" {
                stdin = true
                continue
            }
            let absolute = pattern.hasPrefix("/") ? pattern : base.path + "/" + pattern
            let comps = absolute.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
            // The folder before the first glob character must exist.
            var fixed = ""
            var globStart = comps.count
            for (k, c) in comps.enumerated() {
                if isGlob(c) {
                    globStart = k
                    break
                }
                fixed += "/" + c
            }
            if globStart == comps.count {
                var isDir: ObjCBool = false
                if FileManager.default.fileExists(atPath: fixed, isDirectory: &isDir), !isDir.boolValue {
                    found.insert(normalize(fixed))
                } else if isDir.boolValue {
                    errors.append("\(pattern): is a folder; name files in it, e.g. \"\(pattern)/*.log\"")
                } else {
                    let parent = (fixed as NSString).deletingLastPathComponent
                    if FileManager.default.fileExists(atPath: parent) {
                        unmatched.append(pattern)
                    } else {
                        errors.append("\(pattern): the folder \(relative(parent, to: base)) does not exist")
                    }
                }
                continue
            }
            let root = fixed.isEmpty ? "/" : fixed
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else {
                errors.append("\(pattern): the folder \(relative(root, to: base)) does not exist")
                continue
            }
            var matches: [String] = []
            var inside = Set<FileID>()
            if let id = fileID(root) { inside.insert(id) }
            walk(root, Array(comps[globStart...]), followSymlinks: followSymlinks, inside: &inside, &matches)
            if matches.isEmpty { unmatched.append(pattern) }
            for m in matches { found.insert(normalize(m)) }
        }
        var files: [InputFile] = []
        // The first path of a file in sorted order is the one read: the same on every run.
        var firstPath: [FileID: String] = [:]
        var sameFile: [String] = []
        for path in found.sorted(by: {
            relative($0, to: base).utf8.lexicographicallyPrecedes(relative($1, to: base).utf8)
        }) {
            var st = stat()
            guard stat(path, &st) == 0 else { continue }
            guard (st.st_mode & S_IFMT) == S_IFREG else { continue }
            let id = FileID(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
            if let first = firstPath[id] {
                sameFile.append(
                    "\(relative(path, to: base)) is the same file as \(first) (a link, or another pattern, reaches it); it is read once, as \(first)"
                )
                continue
            }
            firstPath[id] = relative(path, to: base)
            files.append(
                InputFile(
                    index: files.count, path: path, relativePath: relative(path, to: base), size: Int64(st.st_size),
                    modified: Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9))
        }
        // A followed link to a big folder can name thousands of files twice: a few are enough.
        warnings += sameFile.prefix(10)
        if sameFile.count > 10 {
            warnings.append(
                "\(sameFile.count - 10) more paths are files already listed under another path; each is read once")
        }
        if stdin {
            files.append(InputFile(index: files.count, path: "-", relativePath: "-", size: 0, modified: 0))
        }
        return Result(files: files, unmatched: unmatched, errors: errors, warnings: warnings)
    }

    static func isGlob(_ s: String) -> Bool { s.contains("*") || s.contains("?") || s.contains("[") }

    /// - Parameter inside: the folders (device and inode) the walk is in, `dir` included.
    private static func walk(
        _ dir: String, _ rest: [String], followSymlinks: Bool, inside: inout Set<FileID>, _ out: inout [String]
    ) {
        guard let first = rest.first else { return }
        let tail = Array(rest.dropFirst())
        if first == "**" {
            // Zero folders…
            walk(dir, tail, followSymlinks: followSymlinks, inside: &inside, &out)
            // …or any number of them (hidden folders are not entered).
            for name in entries(dir) where !name.hasPrefix(".") {
                let p = dir == "/" ? "/" + name : dir + "/" + name
                var st = stat()
                guard lstat(p, &st) == 0 else { continue }
                let isLink = (st.st_mode & S_IFMT) == S_IFLNK
                if isLink {
                    guard followSymlinks, stat(p, &st) == 0 else { continue }
                }
                guard (st.st_mode & S_IFMT) == S_IFDIR else { continue }
                // A folder the walk is already inside is a loop: entering it again never ends.
                let id = FileID(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
                guard inside.insert(id).inserted else { continue }
                walk(p, rest, followSymlinks: followSymlinks, inside: &inside, &out)
                inside.remove(id)
            }
            return
        }
        // A named step (with or without wildcards) follows links like a shell: it is one level
        // deep, so it cannot loop.
        for name in entries(dir) {
            if name.hasPrefix(".") && !first.hasPrefix(".") { continue }
            guard fnmatch(first, name, 0) == 0 else { continue }
            let p = dir == "/" ? "/" + name : dir + "/" + name
            if tail.isEmpty {
                if !isDirectory(p) { out.append(p) }
            } else if isDirectory(p) {
                let id = fileID(p)
                let entered = id.map { inside.insert($0).inserted } ?? false
                walk(p, tail, followSymlinks: followSymlinks, inside: &inside, &out)
                if entered, let id { inside.remove(id) }
            }
        }
    }

    private static func fileID(_ p: String) -> FileID? {
        var st = stat()
        guard stat(p, &st) == 0 else { return nil }
        return FileID(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    private static func entries(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    }

    private static func isDirectory(_ p: String) -> Bool {
        var st = stat()
        return stat(p, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func normalize(_ p: String) -> String { (p as NSString).standardizingPath }

    /// `p` relative to `base` when inside it (with `../` steps otherwise).
    public static func relative(_ p: String, to base: URL) -> String {
        let b = normalize(base.path).split(separator: "/").map(String.init)
        let c = normalize(p).split(separator: "/").map(String.init)
        var k = 0
        while k < b.count, k < c.count, b[k] == c[k] { k += 1 }
        let ups = Array(repeating: "..", count: b.count - k)
        let r = (ups + c[k...]).joined(separator: "/")
        return r.isEmpty ? "." : r
    }
}

/// Identifies a file's content cheaply: size, modification time and a hash of its first and
/// last 64 KB. A file whose fingerprint is unchanged is not read again once delivered.
public struct FileFingerprint: Sendable, Equatable, Codable {
    public var size: Int64
    public var modified: Double
    /// SHA-256 (hex) of the head, the tail and the size.
    public var sample: String
    /// SHA-256 (hex) of the first 64 KB alone: a file that only grew keeps it.
    public var head: String

    public static func of(_ file: InputFile) -> FileFingerprint? {
        guard file.path != "-", let (sample, head) = sampleAndHead(path: file.path, size: file.size) else { return nil }
        return FileFingerprint(size: file.size, modified: file.modified, sample: sample, head: head)
    }

    /// Whether a plain (not gzip) file's line that was unfinished at `offset` (no line end
    /// before it) goes on past it, rather than ending there with a line end added later.
    public static func lineContinues(path: String, at offset: Int64) -> Bool {
        guard offset > 0 else { return false }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var magic: (UInt8, UInt8) = (0, 0)
        guard withUnsafeMutableBytes(of: &magic, { pread(fd, $0.baseAddress, 2, 0) }) == 2 || offset < 2 else {
            return false
        }
        if magic.0 == 0x1F && magic.1 == 0x8B { return false }
        var before: UInt8 = 0x0A
        var after: UInt8 = 0x0A
        guard pread(fd, &before, 1, off_t(offset - 1)) == 1, before != 0x0A else { return false }
        guard pread(fd, &after, 1, off_t(offset)) == 1 else { return false }
        return after != 0x0A && after != 0x0D
    }

    /// The sample of the first `size` bytes of the file at `path` (as if the file ended there).
    public static func sample(path: String, size: Int64) -> String? { sampleAndHead(path: path, size: size)?.0 }

    /// The sample and the head of the first `size` bytes of the file at `path`.
    static func sampleAndHead(path: String, size: Int64) -> (String, String)? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let hasher = SHA256Hasher()
        let window = 65_536
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: window, alignment: 16)
        defer { buf.deallocate() }
        func chunk(at offset: Int64, _ length: Int) {
            var got = 0
            while got < length {
                let n = pread(fd, buf.baseAddress! + got, length - got, off_t(offset) + off_t(got))
                if n <= 0 { break }
                got += n
            }
            hasher.update(UnsafeRawBufferPointer(rebasing: buf[0..<got]))
        }
        chunk(at: 0, Int(min(Int64(window), size)))
        let headHasher = SHA256Hasher()
        headHasher.update(UnsafeRawBufferPointer(rebasing: buf[0..<Int(min(Int64(window), size))]))
        let head = headHasher.finalize().hexString
        if size > Int64(window) {
            let tailStart = max(Int64(window), size - Int64(window))
            chunk(at: tailStart, Int(size - tailStart))
        }
        hasher.update("\(size)")
        return (hasher.finalize().hexString, head)
    }

    /// 64 bits of the content sample, for record ids: stable while the content is.
    public var key: UInt64 {
        var v: UInt64 = 0
        for (k, c) in sample.utf8.prefix(16).enumerated() {
            let d = UInt64(c <= 0x39 ? c - 0x30 : c - 0x61 + 10)
            v |= d << UInt64(60 - 4 * k)
        }
        return v
    }
}
