import Foundation
import Tokenizers
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Shard file layout (all integers little-endian; each section starts 8-byte aligned):
//   header, 64 bytes:
//     0  magic "PTSHARD1"           8 bytes
//     8  format version            UInt32 (= 1)
//    12  token dtype               UInt32 (2 = UInt16 ids, 4 = UInt32 ids)
//    16  vocabulary size           UInt64
//    24  token count               UInt64
//    32  sentence count            UInt64
//    40  document count            UInt64
//    48  tokenizer checksum        UInt64 (FNV-1a 64 of the compact tokenizer.json text)
//    56  reserved                  8 zero bytes
//   token ids                      tokenCount × dtype bytes, zero-padded to 8
//   word-start bits                ⌈tokenCount / 8⌉ bytes (bit i%8 of byte i/8), zero-padded to 8
//   sentence token offsets         (sentenceCount + 1) × UInt64, from 0 to tokenCount
//   document sentence offsets      (documentCount + 1) × UInt64, from 0 to sentenceCount

/// Errors opening or writing binary shards. Every message names the file, says what is wrong and
/// what to do.
public enum ShardError: Error, CustomStringConvertible, Equatable {
    /// The file does not exist, cannot be read, or changed while it was read.
    case unreadable(path: String, reason: String)
    /// The file cannot be written.
    case cannotWrite(path: String, reason: String)
    /// The file does not start with `PTSHARD1`.
    case badMagic(path: String)
    /// A format version this reader does not know.
    case unsupportedVersion(path: String, version: Int)
    /// A token dtype other than 2 or 4, or one too small for the vocabulary.
    case badDType(path: String, dtype: Int)
    /// The file's length differs from what its header says.
    case wrongLength(path: String, expected: Int, actual: Int)
    /// Offsets that decrease, do not start at 0 or do not end at the count.
    case badOffsets(path: String, detail: String)
    /// A token id not below the vocabulary size.
    case tokenOutOfRange(path: String, index: Int, id: Int, vocabularySize: Int)
    /// The shard was made with another tokenizer.
    case tokenizerMismatch(path: String, shardChecksum: UInt64, tokenizerChecksum: UInt64)
    /// A shard folder without a readable manifest.json.
    case badManifest(path: String, reason: String)
    /// Shards of one set disagree (vocabulary size or tokenizer).
    case inconsistentShards(path: String, detail: String)
    /// A writer was used wrongly (e.g. a token id ≥ vocabulary size).
    case invalidInput(String)

    /// The message: what went wrong and what to do.
    public var description: String {
        let rerun = "Re-run `pretrain prepare` to rebuild the shards."
        switch self {
        case let .unreadable(path, reason):
            return "cannot open shard '\(path)': \(reason). Check the path, or run `pretrain prepare` to make the shards."
        case let .cannotWrite(path, reason):
            return "cannot write '\(path)': \(reason). Check that the folder exists, is writable and has free space."
        case let .badMagic(path):
            return "'\(path)' is not a pretraining shard (it does not start with PTSHARD1). Pass a folder made by `pretrain prepare`."
        case let .unsupportedVersion(path, version):
            return "shard '\(path)' has format version \(version); this build reads version 1. \(rerun)"
        case let .badDType(path, dtype):
            return "shard '\(path)' has token dtype \(dtype) (expected 2 for UInt16 or 4 for UInt32, wide enough for its vocabulary). \(rerun)"
        case let .wrongLength(path, expected, actual):
            return "shard '\(path)' is \(actual) bytes but its header says \(expected): the file is truncated or damaged. \(rerun)"
        case let .badOffsets(path, detail):
            return "shard '\(path)' has invalid offsets (\(detail)): the file is damaged. \(rerun)"
        case let .tokenOutOfRange(path, index, id, vocabularySize):
            return "shard '\(path)': token \(index) has id \(id), not below the vocabulary size \(vocabularySize): the file is damaged. \(rerun)"
        case let .tokenizerMismatch(path, shard, tok):
            return "shard '\(path)' was made with another tokenizer (checksum \(String(shard, radix: 16)), this tokenizer's is \(String(tok, radix: 16))). Use the tokenizer.json the shards were prepared with, or re-run `pretrain prepare` with this one."
        case let .badManifest(path, reason):
            return "shard folder manifest '\(path)': \(reason). Re-run `pretrain prepare` into an empty folder."
        case let .inconsistentShards(path, detail):
            return "shards in '\(path)' do not belong together (\(detail)). Re-run `pretrain prepare` into an empty folder."
        case let .invalidInput(reason):
            return "shard writer: \(reason)."
        }
    }
}

/// FNV-1a, 64 bit.
public func fnv1a64<C: Sequence>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
    return h
}

/// The checksum that ties shards to their tokenizer: FNV-1a 64 of its compact tokenizer.json text
/// (so the same tokenizer gives the same checksum however it was loaded).
public func tokenizerChecksum(_ tokenizer: Tokenizer) -> UInt64 {
    fnv1a64(tokenizer.serialized(pretty: false).utf8)
}

/// ``tokenizerChecksum(_:)`` under a name no `tokenizerChecksum` property shadows (and without
/// the module prefix, so the fuzz target can build this file into another module).
private func checksumOfTokenizer(_ tokenizer: Tokenizer) -> UInt64 { tokenizerChecksum(tokenizer) }

/// Shard format constants.
public enum ShardFormat {
    /// The first 8 bytes of every shard.
    public static let magic: [UInt8] = Array("PTSHARD1".utf8)
    /// The format version written and read.
    public static let version = 1
    /// Header size in bytes.
    public static let headerSize = 64
    /// Bytes per token id for a vocabulary: 2 when every id fits in UInt16, else 4.
    public static func dtype(vocabularySize: Int) -> Int { vocabularySize <= 65_535 ? 2 : 4 }
}

func align8(_ n: Int) -> Int { (n + 7) & ~7 }

/// Writes one shard as documents arrive: token ids go to the file at once, offsets and word-start
/// bits (small) stay in memory until ``finish()``, which writes them and the header, fsyncs and
/// renames `path.tmp` to `path`.
public final class ShardWriter {
    /// The file being written.
    public let path: String
    /// Vocabulary size (ids must be below it).
    public let vocabularySize: Int
    /// Bytes per token id.
    public let dtype: Int
    let checksum: UInt64
    private let file: AtomicFile
    private var bits: [UInt8] = []
    private var sentenceOffsets: [UInt64] = [0]
    private var documentOffsets: [UInt64] = [0]
    /// Tokens written so far.
    public private(set) var tokenCount = 0
    /// Sentences written so far.
    public var sentenceCount: Int { sentenceOffsets.count - 1 }
    /// Documents written so far.
    public var documentCount: Int { documentOffsets.count - 1 }

    /// Starts a shard at `path` for a tokenizer with `vocabularySize` ids and `tokenizerChecksum`.
    public init(path: String, vocabularySize: Int, tokenizerChecksum: UInt64) throws {
        guard vocabularySize > 0, vocabularySize <= Int(UInt32.max) else { throw ShardError.invalidInput("vocabulary size \(vocabularySize) is out of range") }
        self.path = path
        self.vocabularySize = vocabularySize
        self.dtype = ShardFormat.dtype(vocabularySize: vocabularySize)
        self.checksum = tokenizerChecksum
        file = try AtomicFile(path: path)
        try file.write([UInt8](repeating: 0, count: ShardFormat.headerSize))
    }

    /// Appends a document: its sentences' token ids and word-start flags (same lengths).
    public func append(document sentences: [(ids: [Int32], wordStarts: [Bool])]) throws {
        for s in sentences {
            guard s.ids.count == s.wordStarts.count else { throw ShardError.invalidInput("a sentence has \(s.ids.count) ids but \(s.wordStarts.count) word-start flags") }
            var encoded: [UInt8] = []
            encoded.reserveCapacity(s.ids.count * dtype)
            for id in s.ids {
                guard id >= 0, Int(id) < vocabularySize else { throw ShardError.invalidInput("token id \(id) is not below the vocabulary size \(vocabularySize)") }
                if dtype == 2 {
                    let v = UInt16(id).littleEndian
                    encoded.append(UInt8(truncatingIfNeeded: v)); encoded.append(UInt8(truncatingIfNeeded: v >> 8))
                } else {
                    let v = UInt32(id)
                    for k in 0..<4 { encoded.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(k)))) }
                }
            }
            try file.write(encoded)
            for flag in s.wordStarts {
                if tokenCount & 7 == 0 { bits.append(0) }
                if flag { bits[bits.count - 1] |= UInt8(1) << UInt8(tokenCount & 7) }
                tokenCount += 1
            }
            sentenceOffsets.append(UInt64(tokenCount))
        }
        documentOffsets.append(UInt64(sentenceOffsets.count - 1))
    }

    /// Writes the tail and header and moves the shard into place.
    public func finish() throws {
        let zeros = [UInt8](repeating: 0, count: 8)
        let tokenBytes = tokenCount * dtype
        try file.write(zeros[0..<(align8(tokenBytes) - tokenBytes)])
        try file.write(bits)
        try file.write(zeros[0..<(align8(bits.count) - bits.count)])
        for o in sentenceOffsets { try file.write(integer: o) }
        for o in documentOffsets { try file.write(integer: o) }
        var header: [UInt8] = ShardFormat.magic
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { header += $0 } }
        put(UInt32(ShardFormat.version)); put(UInt32(dtype)); put(UInt64(vocabularySize)); put(UInt64(tokenCount))
        put(UInt64(sentenceCount)); put(UInt64(documentCount)); put(checksum); put(UInt64(0))
        try file.overwrite(header, at: 0)
        try file.commit()
    }
}

/// A whole file read into memory with `pread`, freed when released.
///
/// Shards used to be mapped (`mmap`); a shard truncated or rewritten under a running job then
/// killed it with SIGBUS at the next read of a vanished page, with no way to turn that into an
/// error. A copy costs the file's size in memory (2–4 bytes a token plus 1/8 byte and the offsets;
/// a 50M-token shard is ~110 MB) and nothing in time: opening already reads every byte to check
/// the token ids. Once read, the job no longer depends on the file; a file whose size changes
/// while it is read is an error naming it.
final class LoadedFile: @unchecked Sendable {
    // Immutable after init; the bytes are never written again, so sharing across threads is safe.
    let base: UnsafeRawPointer
    let length: Int

    init(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ShardError.unreadable(path: path, reason: errno == ENOENT ? "no such file" : String(cString: strerror(errno))) }
        defer { close(fd) }
        func size() throws -> Int {
            var st = stat()
            guard fstat(fd, &st) == 0 else { throw ShardError.unreadable(path: path, reason: String(cString: strerror(errno))) }
            guard st.st_mode & S_IFMT == S_IFREG else { throw ShardError.unreadable(path: path, reason: "not a regular file") }
            return Int(st.st_size)
        }
        let length = try size()
        guard length > 0 else { throw ShardError.wrongLength(path: path, expected: ShardFormat.headerSize, actual: 0) }
        guard let buffer = malloc(length) else {
            throw ShardError.unreadable(path: path, reason: "cannot allocate \(length) bytes to read it (free memory, or prepare smaller shards with --tokens-per-shard)")
        }
        var done = 0
        while done < length {
            let n = pread(fd, buffer + done, length - done, off_t(done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                free(buffer)
                let reason = n < 0 ? String(cString: strerror(errno)) : "it ended after \(done) of \(length) bytes (changed while being read)"
                throw ShardError.unreadable(path: path, reason: reason)
            }
            done += n
        }
        let after = try size()
        guard after == length else {
            free(buffer)
            throw ShardError.unreadable(path: path, reason: "its size changed from \(length) to \(after) bytes while it was read: another process is writing it; wait for it to finish")
        }
        self.base = UnsafeRawPointer(buffer)
        self.length = length
    }

    deinit { free(UnsafeMutableRawPointer(mutating: base)) }

    func uint64(at offset: Int) -> UInt64 { UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
    func uint32(at offset: Int) -> UInt32 { UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
}

/// One shard, read into memory and validated on open, read as a ``TokenizedCorpus``: token ids
/// and word-start flags are read straight from its bytes.
public final class Shard: TokenizedCorpus, @unchecked Sendable {
    // @unchecked: every stored property is immutable; the bytes are read-only.
    /// The shard file.
    public let path: String
    /// Vocabulary size recorded in the header.
    public let vocabularySize: Int
    /// Bytes per token id (2 or 4).
    public let dtype: Int
    /// Checksum of the tokenizer the shard was made with.
    public let tokenizerChecksum: UInt64
    public let tokenCount: Int
    public let sentenceCount: Int
    public let documentCount: Int
    let file: LoadedFile
    let tokensAt: Int
    let bitsAt: Int
    let sentenceOffsetsAt: Int
    let documentOffsetsAt: Int

    /// Reads and validates a shard: magic, version, dtype, length, offsets, token ids; and, when
    /// `tokenizer` is given, that it was made with that tokenizer.
    public convenience init(path: String, tokenizer: Tokenizer?) throws {
        try self.init(path: path, expectedChecksum: tokenizer.map { checksumOfTokenizer($0) })
    }

    /// Reads and validates a shard; `expectedChecksum` (when given) must match its tokenizer checksum.
    public init(path: String, expectedChecksum: UInt64?) throws {
        self.path = path
        let f = try LoadedFile(path: path)
        file = f
        guard f.length >= ShardFormat.headerSize else { throw ShardError.wrongLength(path: path, expected: ShardFormat.headerSize, actual: f.length) }
        guard (0..<8).allSatisfy({ f.base.load(fromByteOffset: $0, as: UInt8.self) == ShardFormat.magic[$0] }) else { throw ShardError.badMagic(path: path) }
        let version = Int(f.uint32(at: 8))
        guard version == ShardFormat.version else { throw ShardError.unsupportedVersion(path: path, version: version) }
        let dtype = Int(f.uint32(at: 12))
        let vocab64 = f.uint64(at: 16)
        guard dtype == 2 || dtype == 4, vocab64 <= UInt64(UInt32.max), dtype == 4 || vocab64 <= 65_536 else { throw ShardError.badDType(path: path, dtype: dtype) }
        self.dtype = dtype
        vocabularySize = Int(vocab64)
        // Counts are bounded by the file length before any arithmetic, so nothing overflows.
        let limit = UInt64(f.length)
        let t = f.uint64(at: 24), s = f.uint64(at: 32), d = f.uint64(at: 40)
        guard t <= limit, s <= limit / 8, d <= limit / 8 else {
            // The length the counts imply, in floating point: it may not fit an Int.
            let implied = Double(ShardFormat.headerSize) + Double(t) * Double(dtype) + Double(t) / 8 + (Double(s) + 1) * 8 + (Double(d) + 1) * 8
            throw ShardError.wrongLength(path: path, expected: Int(clamping: Int64(min(implied, 9e18))), actual: f.length)
        }
        tokenCount = Int(t); sentenceCount = Int(s); documentCount = Int(d)
        tokenizerChecksum = f.uint64(at: 48)
        tokensAt = ShardFormat.headerSize
        bitsAt = tokensAt + align8(tokenCount * dtype)
        sentenceOffsetsAt = bitsAt + align8((tokenCount + 7) / 8)
        documentOffsetsAt = sentenceOffsetsAt + (sentenceCount + 1) * 8
        let expected = documentOffsetsAt + (documentCount + 1) * 8
        guard expected == f.length else { throw ShardError.wrongLength(path: path, expected: expected, actual: f.length) }
        if let want = expectedChecksum, want != tokenizerChecksum {
            throw ShardError.tokenizerMismatch(path: path, shardChecksum: tokenizerChecksum, tokenizerChecksum: want)
        }
        try validateOffsets(at: sentenceOffsetsAt, count: sentenceCount + 1, end: tokenCount, what: "sentence token offsets")
        try validateOffsets(at: documentOffsetsAt, count: documentCount + 1, end: sentenceCount, what: "document sentence offsets")
        try validateTokens()
    }

    private func validateOffsets(at start: Int, count: Int, end: Int, what: String) throws {
        var previous: UInt64 = 0
        guard file.uint64(at: start) == 0 else { throw ShardError.badOffsets(path: path, detail: "\(what) do not start at 0") }
        for i in 1..<count {
            let v = file.uint64(at: start + 8 * i)
            guard v >= previous else { throw ShardError.badOffsets(path: path, detail: "\(what) decrease at entry \(i)") }
            previous = v
        }
        guard previous == UInt64(end) else { throw ShardError.badOffsets(path: path, detail: "\(what) end at \(previous), not at \(end)") }
    }

    private func validateTokens() throws {
        let vocab = vocabularySize
        if dtype == 2 {
            let p = file.base.advanced(by: tokensAt).assumingMemoryBound(to: UInt16.self)
            for i in 0..<tokenCount where Int(UInt16(littleEndian: p[i])) >= vocab {
                throw ShardError.tokenOutOfRange(path: path, index: i, id: Int(UInt16(littleEndian: p[i])), vocabularySize: vocab)
            }
        } else {
            let p = file.base.advanced(by: tokensAt).assumingMemoryBound(to: UInt32.self)
            for i in 0..<tokenCount where Int(UInt32(littleEndian: p[i])) >= vocab {
                throw ShardError.tokenOutOfRange(path: path, index: i, id: Int(UInt32(littleEndian: p[i])), vocabularySize: vocab)
            }
        }
    }

    public func sentences(ofDocument d: Int) -> Range<Int> {
        Int(file.uint64(at: documentOffsetsAt + 8 * d))..<Int(file.uint64(at: documentOffsetsAt + 8 * (d + 1)))
    }

    public func tokens(ofSentence s: Int) -> Range<Int> {
        Int(file.uint64(at: sentenceOffsetsAt + 8 * s))..<Int(file.uint64(at: sentenceOffsetsAt + 8 * (s + 1)))
    }

    public func tokenIDs(_ range: Range<Int>) -> [Int32] {
        precondition(range.lowerBound >= 0 && range.upperBound <= tokenCount, "token range \(range) outside 0..<\(tokenCount)")
        if dtype == 2 {
            let p = file.base.advanced(by: tokensAt).assumingMemoryBound(to: UInt16.self)
            return range.map { Int32(UInt16(littleEndian: p[$0])) }
        }
        let p = file.base.advanced(by: tokensAt).assumingMemoryBound(to: UInt32.self)
        return range.map { Int32(bitPattern: UInt32(littleEndian: p[$0])) }
    }

    public func wordStarts(_ range: Range<Int>) -> [Bool] {
        precondition(range.lowerBound >= 0 && range.upperBound <= tokenCount, "token range \(range) outside 0..<\(tokenCount)")
        let p = file.base.advanced(by: bitsAt).assumingMemoryBound(to: UInt8.self)
        return range.map { p[$0 >> 3] & (UInt8(1) << UInt8($0 & 7)) != 0 }
    }
}

/// Several shards read as one ``TokenizedCorpus``: documents, sentences and tokens are numbered
/// across the shards in order.
public final class ShardedCorpus: TokenizedCorpus, @unchecked Sendable {
    // @unchecked: immutable after init; the shards are themselves immutable.
    /// The shards, in order.
    public let shards: [Shard]
    /// Vocabulary size shared by the shards.
    public let vocabularySize: Int
    public let documentCount: Int
    public let sentenceCount: Int
    public let tokenCount: Int
    /// First global document/sentence/token of each shard (plus the totals).
    let documentStarts: [Int]
    let sentenceStarts: [Int]
    let tokenStarts: [Int]

    /// Reads shards as one corpus; they must share vocabulary size and tokenizer checksum.
    public init(shards: [Shard]) throws {
        guard let first = shards.first else { throw ShardError.badManifest(path: "(no shards)", reason: "the shard list is empty") }
        for s in shards where s.vocabularySize != first.vocabularySize || s.tokenizerChecksum != first.tokenizerChecksum {
            throw ShardError.inconsistentShards(path: s.path, detail: "'\(s.path)' differs from '\(first.path)' in vocabulary size or tokenizer")
        }
        self.shards = shards
        vocabularySize = first.vocabularySize
        var d = [0], se = [0], t = [0]
        for s in shards {
            d.append(d.last! + s.documentCount)
            se.append(se.last! + s.sentenceCount)
            t.append(t.last! + s.tokenCount)
        }
        documentStarts = d; sentenceStarts = se; tokenStarts = t
        documentCount = d.last!; sentenceCount = se.last!; tokenCount = t.last!
    }

    /// Opens the shards listed in `directory/manifest.json` (written by ``prepareShards``),
    /// checking each against `tokenizer` when it is given.
    public static func open(directory: URL, tokenizer: Tokenizer?) throws -> ShardedCorpus {
        let manifestURL = directory.appendingPathComponent(ShardManifest.fileName)
        let manifest = try ShardManifest.read(from: manifestURL)
        let checksum = tokenizer.map { checksumOfTokenizer($0) }
        if let c = checksum, c != manifest.tokenizerChecksum {
            throw ShardError.tokenizerMismatch(path: manifestURL.path, shardChecksum: manifest.tokenizerChecksum, tokenizerChecksum: c)
        }
        let shards = try manifest.shards.map { try Shard(path: directory.appendingPathComponent($0).path, expectedChecksum: manifest.tokenizerChecksum) }
        return try ShardedCorpus(shards: shards)
    }

    /// The shard holding a global index, by a binary search of `starts`.
    @inline(__always)
    func shardIndex(_ i: Int, _ starts: [Int]) -> Int {
        var lo = 0, hi = starts.count - 2
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if starts[mid] <= i { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    public func sentences(ofDocument d: Int) -> Range<Int> {
        let k = shardIndex(d, documentStarts)
        let r = shards[k].sentences(ofDocument: d - documentStarts[k])
        return (r.lowerBound + sentenceStarts[k])..<(r.upperBound + sentenceStarts[k])
    }

    public func tokens(ofSentence s: Int) -> Range<Int> {
        let k = shardIndex(s, sentenceStarts)
        let r = shards[k].tokens(ofSentence: s - sentenceStarts[k])
        return (r.lowerBound + tokenStarts[k])..<(r.upperBound + tokenStarts[k])
    }

    /// Calls `body` with each shard's part of a global token range.
    private func pieces(_ range: Range<Int>, _ body: (Shard, Range<Int>) -> Void) {
        guard !range.isEmpty else { return }
        var k = shardIndex(range.lowerBound, tokenStarts)
        var lo = range.lowerBound
        while lo < range.upperBound {
            let hi = min(range.upperBound, tokenStarts[k + 1])
            if hi > lo { body(shards[k], (lo - tokenStarts[k])..<(hi - tokenStarts[k])) }
            lo = hi
            k += 1
        }
    }

    public func tokenIDs(_ range: Range<Int>) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(range.count)
        pieces(range) { s, r in out += s.tokenIDs(r) }
        return out
    }

    public func wordStarts(_ range: Range<Int>) -> [Bool] {
        var out: [Bool] = []
        out.reserveCapacity(range.count)
        pieces(range) { s, r in out += s.wordStarts(r) }
        return out
    }
}

/// `manifest.json` of a shard folder: the shard files in order, the totals and the tokenizer
/// checksum.
public struct ShardManifest: Sendable, Equatable {
    /// The manifest's file name inside the folder.
    public static let fileName = "manifest.json"
    /// Shard file names, in order.
    public var shards: [String]
    public var documents: Int
    public var sentences: Int
    public var tokens: Int
    public var vocabularySize: Int
    public var tokenizerChecksum: UInt64

    public init(shards: [String], documents: Int, sentences: Int, tokens: Int, vocabularySize: Int, tokenizerChecksum: UInt64) {
        self.shards = shards; self.documents = documents; self.sentences = sentences; self.tokens = tokens
        self.vocabularySize = vocabularySize; self.tokenizerChecksum = tokenizerChecksum
    }

    /// The JSON text (the checksum as a hex string: JSON numbers cannot hold 64 bits exactly).
    public func json() -> String {
        let v: JSONValue = .object([
            ("format", .string("PTSHARD1")),
            ("shards", .array(shards.map { .string($0) })),
            ("documents", .number(Double(documents))),
            ("sentences", .number(Double(sentences))),
            ("tokens", .number(Double(tokens))),
            ("vocab_size", .number(Double(vocabularySize))),
            ("tokenizer_checksum", .string(String(tokenizerChecksum, radix: 16))),
        ])
        return v.serialized(pretty: true)
    }

    /// Reads and checks a manifest.
    public static func read(from url: URL) throws -> ShardManifest {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ShardError.badManifest(path: url.path, reason: "missing or unreadable (is this a folder made by `pretrain prepare`?)")
        }
        let v: JSONValue
        do { v = try JSONValue.parse([UInt8](data)) } catch { throw ShardError.badManifest(path: url.path, reason: "not valid JSON") }
        func int(_ k: String) throws -> Int {
            // Below 2⁵³: a JSON number holds every integer up to there, and Int(d) cannot overflow.
            guard case .number(let d)? = v[k], d >= 0, d == d.rounded(), d < 9_007_199_254_740_992 else {
                throw ShardError.badManifest(path: url.path, reason: "field \"\(k)\" is missing or not a count")
            }
            return Int(d)
        }
        guard case .array(let list)? = v["shards"] else { throw ShardError.badManifest(path: url.path, reason: "field \"shards\" is missing") }
        let names = try list.map { item -> String in
            guard case .string(let s) = item, !s.contains("/") else { throw ShardError.badManifest(path: url.path, reason: "a shard name is not a plain file name") }
            return s
        }
        let documents = try int("documents")
        guard !names.isEmpty || documents == 0 else { throw ShardError.badManifest(path: url.path, reason: "it lists no shard") }
        guard case .string(let hex)? = v["tokenizer_checksum"], let sum = UInt64(hex, radix: 16) else {
            throw ShardError.badManifest(path: url.path, reason: "field \"tokenizer_checksum\" is missing")
        }
        return ShardManifest(shards: names, documents: documents, sentences: try int("sentences"), tokens: try int("tokens"),
                             vocabularySize: try int("vocab_size"), tokenizerChecksum: sum)
    }
}
