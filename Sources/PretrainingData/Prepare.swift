import Foundation
import Tokenizers

/// What `prepare` did.
public struct PrepareSummary: Sendable, Equatable {
    /// Documents, sentences and tokens written to the shards.
    public var documents = 0
    public var sentences = 0
    public var tokens = 0
    /// Sentences skipped because they encode to no token (blank, or only characters the
    /// normalizer removes).
    public var emptySentences = 0
    /// Documents skipped because none of their sentences has a token.
    public var emptyDocuments = 0
    /// Shard file names written, in order (inside the output folder).
    public var shards: [String] = []
    /// What the corpus reader counted (invalid UTF-8 lines skipped, long lines split, …), when
    /// the input was a ``DocumentStream``.
    public var corpus: CorpusStatistics?
    /// Wall-clock seconds.
    public var seconds = 0.0

    public init() {}

    /// Tokens written per second.
    public var tokensPerSecond: Double { seconds > 0 ? Double(tokens) / seconds : 0 }
}

/// Progress of `prepare`, reported after each batch of documents.
public struct PrepareProgress: Sendable {
    /// Documents read so far (written or skipped).
    public var documentsRead: Int
    /// Tokens written so far.
    public var tokens: Int
    /// UTF-8 bytes of sentence text encoded so far.
    public var bytes: Int
    /// Seconds since the start.
    public var seconds: Double
}

/// Tuning of `prepare`.
public struct PrepareOptions: Sendable {
    /// A shard is closed after the document that brings it to this many tokens (documents are
    /// never split across shards).
    public var tokensPerShard: Int
    /// Encoding threads.
    public var threads: Int
    /// Text read per batch: batches bound the memory held, whatever the corpus size.
    public var batchBytes: Int
    /// Whether no document at all is an empty set of shards (a run's held-out side of a small
    /// corpus) rather than ``CorpusError/emptyCorpus(description:)``.
    public var allowsEmpty: Bool

    public init(tokensPerShard: Int = 50_000_000, threads: Int = ProcessInfo.processInfo.activeProcessorCount, batchBytes: Int = 4 << 20,
                allowsEmpty: Bool = false) {
        self.tokensPerShard = tokensPerShard
        self.threads = threads
        self.batchBytes = batchBytes
        self.allowsEmpty = allowsEmpty
    }
}

/// A tokenized document: per sentence, ids and word-start flags.
struct EncodedDocument {
    var sentences: [(ids: [Int32], wordStarts: [Bool])] = []
    var emptySentences = 0
}

/// Encodes one sentence without special tokens; a token starts a word when its word id (the
/// pre-tokenizer's split) differs from the previous token's, which holds for WordPiece `##`
/// pieces, byte-level BPE and Metaspace/Unigram alike.
public func encodeSentence(_ text: String, tokenizer: Tokenizer) throws -> (ids: [Int32], wordStarts: [Bool]) {
    let e = try tokenizer.encode(text, addSpecialTokens: false, truncation: .some(nil), padding: .some(nil))
    var ids: [Int32] = []
    var starts: [Bool] = []
    ids.reserveCapacity(e.ids.count)
    starts.reserveCapacity(e.ids.count)
    var previous: Int?? = .none
    for (i, id) in e.ids.enumerated() {
        ids.append(Int32(id))
        let w = i < e.wordIDs.count ? e.wordIDs[i] : nil
        // A token without a word id (an added token) is a word of its own.
        starts.append(previous == .none || w == nil || previous! != w)
        previous = .some(w)
    }
    return (ids, starts)
}

/// Results of one batch, written by the worker threads at distinct indices.
final class BatchResults: @unchecked Sendable {
    // @unchecked: each index is written by exactly one thread; read after the join.
    let docs: UnsafeMutableBufferPointer<EncodedDocument>
    let lock = NSLock()
    var nextChunk = 0
    var firstError: Error?
    init(count: Int) {
        docs = .allocate(capacity: count)
        docs.initialize(repeating: EncodedDocument())
    }
    deinit {
        docs.baseAddress?.deinitialize(count: docs.count)
        docs.deallocate()
    }
    func claimChunk() -> Int {
        lock.lock(); defer { lock.unlock() }
        let c = nextChunk
        nextChunk += 1
        return c
    }
    func record(_ error: Error) {
        lock.lock(); defer { lock.unlock() }
        if firstError == nil { firstError = error }
    }
}

/// Tokenizes documents in parallel into shards `shard-00000.bin`, … plus `manifest.json` in
/// `outputDirectory`. Documents are read in batches (never the whole corpus in memory); each batch
/// is encoded by `threads` threads and written in input order, so the shards are identical for
/// any thread count.
/// - Parameter nextDocument: yields the next document (sentences), nil at the end.
public func prepareShards(nextDocument: () throws -> [String]?, tokenizer: Tokenizer, outputDirectory: URL,
                          options: PrepareOptions = PrepareOptions(),
                          progress: ((PrepareProgress) -> Void)? = nil) throws -> PrepareSummary {
    let start = Date()
    let fm = FileManager.default
    do { try fm.createDirectory(at: outputDirectory, withIntermediateDirectories: true) } catch {
        throw ShardError.cannotWrite(path: outputDirectory.path, reason: error.localizedDescription)
    }
    let checksum = tokenizerChecksum(tokenizer)
    let vocab = tokenizer.vocabularySize
    let threads = max(1, options.threads)
    var summary = PrepareSummary()
    var writer: ShardWriter?
    var documentsRead = 0
    var bytes = 0

    func closeShard() throws {
        guard let w = writer else { return }
        try w.finish()
        writer = nil
    }

    var finished = false
    while !finished {
        // Read one batch.
        var batch: [[String]] = []
        var batchBytes = 0
        while batchBytes < options.batchBytes {
            guard let doc = try nextDocument() else { finished = true; break }
            for s in doc { batchBytes += s.utf8.count }
            batch.append(doc)
        }
        if batch.isEmpty { break }
        documentsRead += batch.count
        bytes += batchBytes

        // Encode it: threads claim chunks of documents; results land at the documents' indices.
        let results = BatchResults(count: batch.count)
        let chunk = max(1, min(64, batch.count / (threads * 8)))
        let chunks = (batch.count + chunk - 1) / chunk
        let work: @Sendable () -> Void = { [batch] in
            while true {
                let c = results.claimChunk()
                guard c < chunks else { return }
                for i in (c * chunk)..<min(batch.count, (c + 1) * chunk) {
                    var out = EncodedDocument()
                    for s in batch[i] {
                        do {
                            let enc = try encodeSentence(s, tokenizer: tokenizer)
                            if enc.ids.isEmpty { out.emptySentences += 1 } else { out.sentences.append(enc) }
                        } catch { results.record(error); return }
                    }
                    results.docs[i] = out
                }
            }
        }
        if threads == 1 { work() } else { DispatchQueue.concurrentPerform(iterations: threads) { _ in work() } }
        if let e = results.firstError { throw e }

        // Write it in order.
        for i in 0..<batch.count {
            let doc = results.docs[i]
            summary.emptySentences += doc.emptySentences
            if doc.sentences.isEmpty { summary.emptyDocuments += 1; continue }
            if writer == nil {
                let name = String(format: "shard-%05d.bin", summary.shards.count)
                writer = try ShardWriter(path: outputDirectory.appendingPathComponent(name).path, vocabularySize: vocab, tokenizerChecksum: checksum)
                summary.shards.append(name)
            }
            guard let w = writer else { continue }
            try w.append(document: doc.sentences)
            summary.documents += 1
            summary.sentences += doc.sentences.count
            for s in doc.sentences { summary.tokens += s.ids.count }
            if w.tokenCount >= options.tokensPerShard { try closeShard() }
        }
        progress?(PrepareProgress(documentsRead: documentsRead, tokens: summary.tokens, bytes: bytes, seconds: Date().timeIntervalSince(start)))
    }
    try closeShard()
    guard summary.documents > 0 || options.allowsEmpty else {
        throw CorpusError.emptyCorpus(description: "given to prepare (\(summary.emptyDocuments) documents had no token)")
    }

    // Shards of an earlier run that this run did not rewrite would be mistaken for part of it.
    let keep = Set(summary.shards)
    if let names = try? fm.contentsOfDirectory(atPath: outputDirectory.path) {
        for n in names where n.hasPrefix("shard-") && n.hasSuffix(".bin") && !keep.contains(n) {
            try? fm.removeItem(at: outputDirectory.appendingPathComponent(n))
        }
    }
    let manifest = ShardManifest(shards: summary.shards, documents: summary.documents, sentences: summary.sentences, tokens: summary.tokens,
                                 vocabularySize: vocab, tokenizerChecksum: checksum)
    let file = try AtomicFile(path: outputDirectory.appendingPathComponent(ShardManifest.fileName).path)
    try file.write(Array(manifest.json().utf8))
    try file.commit()
    summary.seconds = Date().timeIntervalSince(start)
    return summary
}

/// ``prepareShards(nextDocument:tokenizer:outputDirectory:options:progress:)`` over any sequence
/// of documents.
public func prepareShards<S: Sequence>(documents: S, tokenizer: Tokenizer, outputDirectory: URL,
                                       options: PrepareOptions = PrepareOptions(),
                                       progress: ((PrepareProgress) -> Void)? = nil) throws -> PrepareSummary where S.Element == [String] {
    var it = documents.makeIterator()
    return try prepareShards(nextDocument: { it.next() }, tokenizer: tokenizer, outputDirectory: outputDirectory, options: options, progress: progress)
}

/// Reads corpus files and prepares shards from them: what `pretrain prepare` does.
/// - Returns: the summary, with the reader's counts in `corpus`.
public func prepareCorpus(files: [String], format: CorpusFormat, textField: String = "text", tokenizer: Tokenizer, output: URL,
                          options: PrepareOptions = PrepareOptions(),
                          progress: ((PrepareProgress) -> Void)? = nil) throws -> PrepareSummary {
    let stream = try documents(files: files, format: format, textField: textField)
    var summary = try prepareShards(nextDocument: { try stream.nextDocument() }, tokenizer: tokenizer, outputDirectory: output,
                                    options: options, progress: progress)
    summary.corpus = stream.statistics
    return summary
}
