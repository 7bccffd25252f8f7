import Foundation
import Tokenizers
#if canImport(Glibc)
import Glibc
private let systemRead = Glibc.read
#elseif canImport(Darwin)
import Darwin
private let systemRead = Darwin.read
#endif

/// How a corpus file is laid out.
public enum CorpusFormat: String, CaseIterable, Sendable, Codable {
    /// One sentence per line, a blank line between documents.
    case text
    /// A folder of `.txt` files (searched recursively, sorted by path), each laid out as `text`.
    case folder
    /// One JSON object per line; its text field is one document, split into sentences at newlines.
    case jsonl
    /// `reference<TAB>text<TAB>translation` lines (`pretrain corpus parallel`); each line is a
    /// document of its two texts (recipes with `format: translation` read the pairs).
    case parallel
}

/// What a corpus reader saw: counts of what it yielded and of what it skipped (nothing is dropped
/// silently).
public struct CorpusStatistics: Sendable, Equatable {
    /// Documents yielded.
    public var documents = 0
    /// Sentences (lines) yielded.
    public var lines = 0
    /// UTF-8 bytes yielded, one newline per line and one blank line per document included
    /// (the size of the corpus written as a text file).
    public var bytes = 0
    /// Lines skipped because they are not valid UTF-8.
    public var invalidUTF8Lines = 0
    /// Lines longer than ``CorpusLimits/maxLineBytes`` that were split at whitespace.
    public var splitLongLines = 0
    /// Documents skipped because they hold no text (e.g. an empty JSONL text field).
    public var emptyDocuments = 0

    public init() {}
}

/// Limits that keep a reader's memory bounded whatever the input.
public enum CorpusLimits {
    /// A longer line is split at whitespace into pieces of at most this many bytes (≤ as many
    /// characters), so a single 100 MB line never has to be held whole.
    public static let maxLineBytes = 10_000
}

/// A single-pass stream of documents (each a list of sentences), read lazily from files or a
/// built-in corpus. Iterate it as a `Sequence` (an error ends the iteration and is kept in
/// ``error``) or call ``nextDocument()`` to get errors thrown.
public final class DocumentStream: Sequence, IteratorProtocol {
    /// What the stream reads (for messages).
    public let name: String
    /// Counts so far.
    public private(set) var statistics = CorpusStatistics()
    /// The error that ended a `Sequence` iteration, if any.
    public private(set) var error: Error?
    private let source: DocumentSource

    init(name: String, source: DocumentSource) {
        self.name = name
        self.source = source
    }

    /// The next document, nil at the end. Throws ``CorpusError/emptyCorpus(description:)`` at
    /// the end of a corpus that yielded no document.
    public func nextDocument() throws -> [String]? {
        while true {
            guard var doc = try source.next(&statistics) else {
                if statistics.documents == 0 { throw CorpusError.emptyCorpus(description: name) }
                return nil
            }
            // A blank sentence would read back as a document break.
            if doc.contains(where: isBlank) { doc.removeAll(where: isBlank) }
            if doc.isEmpty { statistics.emptyDocuments += 1; continue }
            statistics.documents += 1
            statistics.lines += doc.count
            statistics.bytes += 1
            for line in doc { statistics.bytes += line.utf8.count + 1 }
            return doc
        }
    }

    /// `IteratorProtocol`: the next document, or nil at the end or on an error (see ``error``).
    public func next() -> [String]? {
        guard error == nil else { return nil }
        do { return try nextDocument() } catch {
            self.error = error
            return nil
        }
    }

    /// The stream itself: it can be iterated once.
    public func makeIterator() -> DocumentStream { self }
}

/// Opens corpus files for reading as documents. Missing files are an error here, before any
/// reading starts.
/// - Parameters:
///   - files: the files (or, for `.folder`, folders) in order.
///   - format: how they are laid out.
///   - textField: the JSONL field holding the text.
public func documents(files: [String], format: CorpusFormat, textField: String = "text") throws -> DocumentStream {
    var paths: [String] = []
    for f in files {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: f, isDirectory: &isDir) else { throw CorpusError.missingFile(path: f) }
        if format == .folder {
            guard isDir.boolValue else { throw CorpusError.unreadable(path: f, reason: "it is a file, not a folder (use --format text)") }
            let found = textFiles(inFolder: f)
            guard !found.isEmpty else { throw CorpusError.emptyFolder(path: f) }
            paths += found
        } else {
            guard !isDir.boolValue else { throw CorpusError.unreadable(path: f, reason: "it is a folder (use --format folder)") }
            paths.append(f)
        }
    }
    let name = files.count == 1 ? "'\(files[0])'" : "of \(files.count) files"
    switch format {
    case .text, .folder: return DocumentStream(name: name, source: TextFilesSource(paths: paths))
    case .jsonl: return DocumentStream(name: name, source: JSONLSource(paths: paths, field: textField))
    case .parallel: return DocumentStream(name: name, source: ParallelLinesSource(paths: paths))
    }
}

/// The `.txt` files under a folder, recursively, sorted by path.
func textFiles(inFolder folder: String) -> [String] {
    let root = URL(fileURLWithPath: folder)
    guard let e = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
    var out: [String] = []
    for case let url as URL in e where url.pathExtension == "txt" {
        if (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true { out.append(url.path) }
    }
    return out.sorted()
}

/// Something that yields documents; empty documents are counted by the stream.
protocol DocumentSource: AnyObject {
    func next(_ stats: inout CorpusStatistics) throws -> [String]?
}

/// Decodes a line: nil when it is not valid UTF-8. A trailing "\r" (CRLF files) is dropped.
func decodeLine(_ bytes: ArraySlice<UInt8>) -> String? {
    var b = bytes
    if b.last == 13 { b = b.dropLast() }
    return String(validating: b, as: UTF8.self)
}

/// True when a line holds only whitespace.
func isBlank(_ s: String) -> Bool { s.allSatisfy(\.isWhitespace) }

/// The lines of several files in order, one file open at a time.
struct FileSequenceLines {
    enum Item { case line(RawLine, path: String), endOfFile }
    let paths: [String]
    let maxLineBytes: Int?
    private var index = 0
    private var reader: LineReader?

    init(paths: [String], maxLineBytes: Int?) { (self.paths, self.maxLineBytes) = (paths, maxLineBytes) }

    /// The next line, `.endOfFile` after each file's last line, nil after the last file.
    mutating func next() throws -> Item? {
        if reader == nil {
            guard index < paths.count else { return nil }
            reader = try LineReader(path: paths[index], maxLineBytes: maxLineBytes)
            index += 1
        }
        guard let r = reader, let line = try r.nextLine() else {
            reader = nil
            return .endOfFile
        }
        return .line(line, path: r.path)
    }
}

/// Plain text files: one sentence per line, blank lines between documents; each file's end also
/// ends a document. Other line-based layouts set `isSeparator` (e.g. fortune's `%` lines) and
/// `clean` (applied to every other line; an empty result is dropped).
final class TextFilesSource: DocumentSource {
    var lines: FileSequenceLines
    let isSeparator: (String) -> Bool
    let clean: (String) -> String

    init(paths: [String], isSeparator: @escaping (String) -> Bool = isBlank, clean: @escaping (String) -> String = { $0 }) {
        lines = FileSequenceLines(paths: paths, maxLineBytes: CorpusLimits.maxLineBytes)
        self.isSeparator = isSeparator
        self.clean = clean
    }

    func next(_ stats: inout CorpusStatistics) throws -> [String]? {
        var doc: [String] = []
        while let item = try lines.next() {
            guard case .line(let line, _) = item else {
                if !doc.isEmpty { return doc }
                continue
            }
            if line.isPiece && line.isFirstPiece { stats.splitLongLines += 1 }
            guard let text = decodeLine(line.bytes) else { stats.invalidUTF8Lines += 1; continue }
            if isSeparator(text) {
                if !doc.isEmpty { return doc }
            } else {
                let cleaned = clean(text)
                if !cleaned.isEmpty { doc.append(cleaned) }
            }
        }
        return doc.isEmpty ? nil : doc
    }
}

/// JSONL: each line one JSON object, its `field` one document split into sentences at newlines.
final class JSONLSource: DocumentSource {
    // No line limit: a JSON object cannot be split; the reader holds one line at most.
    var lines: FileSequenceLines
    let field: String

    init(paths: [String], field: String) {
        lines = FileSequenceLines(paths: paths, maxLineBytes: nil)
        self.field = field
    }

    func next(_ stats: inout CorpusStatistics) throws -> [String]? {
        while let item = try lines.next() {
            guard case .line(let line, let path) = item else { continue }
            guard line.bytes.contains(where: { $0 != 32 && $0 != 9 && $0 != 13 }) else { continue }
            guard decodeLine(line.bytes) != nil else { stats.invalidUTF8Lines += 1; continue }
            let value: JSONValue
            do { value = try JSONValue.parse(Array(line.bytes)) } catch {
                throw CorpusError.badJSONLine(path: path, line: line.number, field: field, reason: "not valid JSON (\(error))")
            }
            guard case .object = value else {
                throw CorpusError.badJSONLine(path: path, line: line.number, field: field, reason: "not a JSON object")
            }
            guard case .string(let text)? = value[field] else {
                throw CorpusError.badJSONLine(path: path, line: line.number, field: field, reason: "no string field \"\(field)\"")
            }
            return splitIntoSentences(text, stats: &stats)
        }
        return nil
    }
}

/// Splits a text into non-blank lines; lines over the limit are split at whitespace.
func splitIntoSentences(_ text: String, stats: inout CorpusStatistics) -> [String] {
    var out: [String] = []
    for raw in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
        let line = String(raw)
        if isBlank(line) { continue }
        if line.utf8.count > CorpusLimits.maxLineBytes {
            stats.splitLongLines += 1
            out += splitLongLine(Array(line.utf8)).compactMap { String(validating: $0, as: UTF8.self) }.filter { !isBlank($0) }
        } else {
            out.append(line)
        }
    }
    return out
}

/// Where to cut a run of bytes at most `limit` long: after the last ASCII whitespace, else at
/// the last UTF-8 character boundary.
func cutPoint(_ p: UnsafeBufferPointer<UInt8>, from start: Int, limit: Int) -> Int {
    let end = start + limit
    var i = end
    while i > start + limit / 2 {
        let c = p[i - 1]
        if c == 32 || c == 9 { return i }
        i -= 1
    }
    i = end
    while i > start + 1 && p[i] & 0xC0 == 0x80 { i -= 1 }
    return i
}

/// Splits a long UTF-8 line into pieces of at most ``CorpusLimits/maxLineBytes`` bytes.
func splitLongLine(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
    var out: [ArraySlice<UInt8>] = []
    bytes.withUnsafeBufferPointer { p in
        var start = 0
        while p.count - start > CorpusLimits.maxLineBytes {
            let cut = cutPoint(p, from: start, limit: CorpusLimits.maxLineBytes)
            out.append(bytes[start..<cut])
            start = cut
        }
        out.append(bytes[start..<p.count])
    }
    return out
}

/// One line (or piece of a long line) of raw bytes.
struct RawLine {
    var bytes: ArraySlice<UInt8>
    /// 1-based line number in the file.
    var number: Int
    /// Part of a line longer than the limit.
    var isPiece: Bool
    /// The first piece of such a line.
    var isFirstPiece: Bool
}

/// Reads a file or pipe in 64 KiB blocks and yields its lines; holds one line (or one piece of at
/// most `maxLineBytes`) plus one block in memory.
final class LineReader {
    let path: String
    let fd: Int32
    let maxLineBytes: Int?
    private var buffer: [UInt8] = []
    private var start = 0
    /// Bytes from `start` already searched for a newline.
    private var searched = 0
    private var eof = false
    private var lineNumber = 1
    private var inPiece = false
    private var block = [UInt8](repeating: 0, count: 1 << 16)
    private let ownsDescriptor: Bool
    /// Bytes consumed so far (for byte-addressed formats such as dictd).
    private(set) var position = 0

    /// Opens a file.
    init(path: String, maxLineBytes: Int?) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            if errno == ENOENT { throw CorpusError.missingFile(path: path) }
            throw CorpusError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        self.path = path
        self.fd = fd
        self.maxLineBytes = maxLineBytes
        self.ownsDescriptor = true
    }

    /// Reads from an open descriptor (a pipe); `name` is used in messages.
    init(descriptor: Int32, name: String, maxLineBytes: Int?) {
        self.path = name
        self.fd = descriptor
        self.maxLineBytes = maxLineBytes
        self.ownsDescriptor = false
    }

    deinit { if ownsDescriptor { close(fd) } }

    /// Reads one more block; false at the end.
    private func fill() throws -> Bool {
        if eof { return false }
        if start > 0 {
            buffer.removeSubrange(0..<start)
            start = 0
        }
        while true {
            let n = block.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw CorpusError.unreadable(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { eof = true; return false }
            buffer.append(contentsOf: block[0..<n])
            return true
        }
    }

    /// The next line without its newline, or nil at the end.
    func nextLine() throws -> RawLine? {
        while true {
            let pending = buffer.count - start
            let newline: Int? = buffer.withUnsafeBufferPointer { p -> Int? in
                guard pending > searched, let base = p.baseAddress else { return nil }
                guard let hit = memchr(base + start + searched, 10, pending - searched) else { return nil }
                return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            }
            if let nl = newline, maxLineBytes.map({ nl - start <= $0 }) ?? true {
                return take(upTo: nl, skip: 1, endsLine: true)
            }
            searched = pending
            if let limit = maxLineBytes, pending > limit {
                let cut = buffer.withUnsafeBufferPointer { cutPoint($0, from: start, limit: limit) }
                return take(upTo: cut, skip: 0, endsLine: false)
            }
            if try !fill() {
                if pending == 0 { return nil }
                return take(upTo: buffer.count, skip: 0, endsLine: true)
            }
        }
    }

    private func take(upTo end: Int, skip: Int, endsLine: Bool) -> RawLine {
        let piece = inPiece || !endsLine
        let line = RawLine(bytes: buffer[start..<end], number: lineNumber, isPiece: piece, isFirstPiece: piece && !inPiece)
        position += end + skip - start
        start = end + skip
        searched = 0
        if endsLine { lineNumber += 1; inPiece = false } else { inPiece = true }
        return line
    }

    /// Skips `count` bytes (fewer at the end).
    func skip(_ count: Int) throws {
        var left = count
        while left > 0 {
            if buffer.count - start == 0, try !fill() { return }
            let n = min(left, buffer.count - start)
            start += n
            position += n
            left -= n
            searched = 0
        }
    }

    /// The next `count` bytes (fewer at the end).
    func read(_ count: Int) throws -> [UInt8] {
        while buffer.count - start < count, try fill() {}
        let n = min(count, buffer.count - start)
        let out = Array(buffer[start..<(start + n)])
        start += n
        position += n
        searched = 0
        return out
    }
}
