import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Opens one input file with the decoder its pipeline's format calls for.
public enum DecoderFactory {
    /// The decoder, and the file's fixed field names for CSV and lines (nil for NDJSON).
    public static func open(_ file: InputFile, spec: SourceSpec, inflateAhead: Bool = false) throws(ReadError) -> (
        RecordDecoder, NameTable?
    ) {
        let (d, n, _) = try openWithReader(file, spec: spec, inflateAhead: inflateAhead)
        return (d, n)
    }

    /// Like `open`, with the line reader too (its raw offset measures progress through the file).
    /// A file is read up to the size it had when the run looked at it (`file.size`); what it
    /// grows by meanwhile is for the next run. If it did grow, a plain file's last line without
    /// a line end is left for the next run too: the rest of that line is still being written.
    /// - Parameter inflateAhead: a gzip file is inflated on a thread of its own, into large
    ///   buffers ahead of the decoder (the same bytes and errors; the other core decodes).
    public static func openWithReader(_ file: InputFile, spec: SourceSpec, inflateAhead: Bool = false) throws(ReadError)
        -> (RecordDecoder, NameTable?, LineReader)
    {
        let opened = try ByteSources.open(
            path: file.path, compression: spec.compression, limit: file.path == "-" ? .max : file.size)
        let gzip = opened is GzipByteSource
        let source: ByteSource = gzip && inflateAhead ? ReadAheadByteSource(opened) : opened
        let reader = spec.format == .json ? LineReader(source: source, bufferSize: 4096) : LineReader(source: source)
        if file.path != "-" && !gzip {
            let path = file.path, size = file.size
            reader.stillBeingWritten = {
                var st = stat()
                return stat(path, &st) == 0 && Int64(st.st_size) > size
            }
        }
        if spec.format == .json {
            // Not line based: the decoder reads the source itself. The line reader is only the
            // handle callers measure progress with (its raw offset is the source's); it reads nothing.
            let d = JSONStreamDecoder(source: source, fileIndex: file.index, invalidUTF8: spec.invalidUTF8)
            d.stillBeingWritten = reader.stillBeingWritten
            return (d, nil, reader)
        }
        let (d, n) = try make(reader, file, spec)
        return (d, n, reader)
    }

    private static func make(_ reader: LineReader, _ file: InputFile, _ spec: SourceSpec) throws(ReadError) -> (
        RecordDecoder, NameTable?
    ) {
        switch spec.format {
        case .ndjson:
            return (NDJSONDecoder(reader: reader, fileIndex: file.index, invalidUTF8: spec.invalidUTF8), nil)
        case .json:
            return (JSONStreamDecoder(source: reader.source, fileIndex: file.index, invalidUTF8: spec.invalidUTF8), nil)
        case .lines:
            let d = try LineDecoder(
                reader: reader, pattern: spec.lines?.pattern ?? "raw", fileIndex: file.index, multiline: spec.multiline)
            return (d, d.names)
        case .csv:
            let d = try CSVDecoder(reader: reader, spec: spec.csv, fileIndex: file.index)
            return (d, d.names)
        }
    }
}
