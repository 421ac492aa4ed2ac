/// Turns one file's bytes into records. `next()` returns nil at the end of the file; a read
/// error (corrupt gzip, I/O) is thrown after every record before it was returned.
public protocol RecordDecoder: AnyObject {
    func next() throws(ReadError) -> DecodeResult?
    /// Decoded bytes consumed so far (for progress).
    var decodedOffset: Int64 { get }
    /// After the end: where reading stopped short of an unfinished last record (a file still
    /// being written); nil when the file was read to its end.
    var heldBackAt: Int64? { get }
}
