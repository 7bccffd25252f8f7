import Foundation

/// A complete tokenizer: added tokens → normalizer → pre-tokenizer → model → post-processor,
/// plus truncation, padding and decoding. Compatible with Hugging Face `tokenizer.json`.
public final class Tokenizer: Sendable {
    /// The typed tokenizer.json this tokenizer was built from.
    public let config: TokenizerJSON
    let added: AddedVocabulary
    /// Token string for every id (model vocabulary, overridden by added tokens).
    let idToToken: [String]

    /// Builds a tokenizer from its typed configuration (normalizing its added tokens, which can
    /// fail as encoding can).
    public init(config: TokenizerJSON) throws {
        self.config = config
        self.added = try AddedVocabulary(tokens: config.addedTokens, normalizer: config.normalizer)
        var names = config.model.vocabulary.tokens
        for t in config.addedTokens where t.id >= 0 && t.id < AddedToken.idLimit {
            if t.id >= names.count { names += [String](repeating: "", count: t.id + 1 - names.count) }
            names[t.id] = t.content
        }
        idToToken = names
    }

    /// Loads a tokenizer.json file.
    public convenience init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TokenizerError.unreadableFile(path: url.path, reason: error.localizedDescription)
        }
        try self.init(jsonBytes: [UInt8](data))
    }

    /// Parses tokenizer.json bytes.
    public convenience init(jsonBytes: [UInt8]) throws {
        try self.init(config: try TokenizerJSON(bytes: jsonBytes))
    }

    /// A BERT WordPiece tokenizer from a legacy `vocab.txt`.
    public static func bert(vocabTxt: String, lowercase: Bool = true) throws -> Tokenizer {
        let wp = try WordPiece(vocabTxt: vocabTxt)
        var c = TokenizerJSON(model: .wordPiece(wp))
        c.normalizer = .bert(cleanText: true, handleChineseChars: true, stripAccents: nil, lowercase: lowercase)
        c.preTokenizer = .bert
        c.decoder = .wordPiece(prefix: "##", cleanup: true)
        var specials: [AddedToken] = []
        for s in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] { if let id = wp.vocab.id(s) { specials.append(AddedToken(content: s, id: id)) } }
        c.addedTokens = specials
        guard let cls = wp.vocab.id("[CLS]"), let sep = wp.vocab.id("[SEP]") else { throw TokenizerError.missingToken("[CLS] / [SEP]") }
        c.postProcessor = .bert(sep: ("[SEP]", sep), cls: ("[CLS]", cls))
        return try Tokenizer(config: c)
    }

    /// A RoBERTa/GPT-2 byte-level BPE tokenizer from legacy `vocab.json` + `merges.txt`.
    public static func byteLevelBPE(vocabJSON: String, mergesTxt: String, addPrefixSpace: Bool = false) throws -> Tokenizer {
        let bpe = try BPE(vocabJSON: vocabJSON, mergesTxt: mergesTxt)
        var c = TokenizerJSON(model: .bpe(bpe))
        c.preTokenizer = .byteLevel(addPrefixSpace: addPrefixSpace, trimOffsets: true, useRegex: true)
        c.decoder = .byteLevel
        var specials: [AddedToken] = []
        for s in ["<s>", "<pad>", "</s>", "<unk>", "<mask>"] {
            if let id = bpe.vocab.id(s) { specials.append(AddedToken(content: s, id: id, lstrip: s == "<mask>")) }
        }
        c.addedTokens = specials
        if let cls = bpe.vocab.id("<s>"), let sep = bpe.vocab.id("</s>") {
            c.postProcessor = .roberta(sep: ("</s>", sep), cls: ("<s>", cls), trimOffsets: true, addPrefixSpace: addPrefixSpace)
        } else {
            c.postProcessor = .byteLevel(trimOffsets: true, addPrefixSpace: addPrefixSpace)
        }
        return try Tokenizer(config: c)
    }

    /// Loads `tokenizer.json`, a BERT `vocab.txt`, or a folder holding one of: tokenizer.json,
    /// vocab.json + merges.txt (byte-level BPE), vocab.txt (WordPiece).
    public static func load(path: String) throws -> Tokenizer {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw TokenizerError.unreadableFile(path: path, reason: "no such file or folder") }
        func text(_ p: String) throws -> String {
            let b = try TextFiles.bytes(p)
            if let bad = TextFiles.firstInvalidUTF8(b) { throw TokenizerError.invalidUTF8(path: p, offset: bad) }
            return String(decoding: b, as: UTF8.self)
        }
        if isDir.boolValue {
            let dir = URL(fileURLWithPath: path)
            let j = dir.appendingPathComponent("tokenizer.json").path
            if FileManager.default.fileExists(atPath: j) { return try Tokenizer(contentsOf: URL(fileURLWithPath: j)) }
            let v = dir.appendingPathComponent("vocab.json").path, m = dir.appendingPathComponent("merges.txt").path
            if FileManager.default.fileExists(atPath: v), FileManager.default.fileExists(atPath: m) {
                return try byteLevelBPE(vocabJSON: try text(v), mergesTxt: try text(m))
            }
            let t = dir.appendingPathComponent("vocab.txt").path
            if FileManager.default.fileExists(atPath: t) { return try bert(vocabTxt: try text(t)) }
            throw TokenizerError.unreadableFile(path: path, reason: "folder has no tokenizer.json, vocab.json + merges.txt or vocab.txt")
        }
        if path.hasSuffix(".txt") { return try bert(vocabTxt: try text(path)) }
        return try Tokenizer(contentsOf: URL(fileURLWithPath: path))
    }

    /// Vocabulary size including added tokens.
    public var vocabularySize: Int { idToToken.count }

    /// Id of a token (added tokens first), scalar-exact.
    public func id(of token: String) -> Int? {
        for t in config.addedTokens where t.content.unicodeScalars.elementsEqual(token.unicodeScalars) { return t.id }
        return config.model.vocabulary.id(token)
    }

    /// Token string of an id.
    public func token(of id: Int) -> String? { id >= 0 && id < idToToken.count ? idToToken[id] : nil }

    /// Encodes one sequence without post-processing (type id `typeID`).
    func encodeSequence(_ text: [UInt32], typeID: Int, sequenceID: Int) throws -> Encoding {
        var pre = try added.extractAndNormalize(text, normalizer: config.normalizer)
        try config.preTokenizer?.preTokenize(&pre)
        var e = Encoding()
        let vocabTokens = config.model.vocabulary.tokens
        // Take the splits out and release each one once tokenized, so that a very long input
        // never holds all splits and the whole encoding at the same time.
        var splits = pre.splits
        pre.splits = []
        let done = PreTokenizedString.Split(normalized: NormalizedString(scalars: []), tokens: nil)
        e.reserve(splits.count + splits.count / 4)
        for w in 0..<splits.count {
            let split = splits[w]
            splits[w] = done
            let toks = split.tokens ?? config.model.tokenize(split.normalized.scalars)
            for t in toks {
                let (s, en) = split.normalized.originalRange(t.start..<t.end)
                let name = t.value ?? (t.id < vocabTokens.count ? vocabTokens[t.id] : (token(of: t.id) ?? ""))
                e.append(id: t.id, typeID: typeID, token: name, offset: .init(s, en), wordID: w, special: 0, sequence: sequenceID)
            }
        }
        return e
    }

    /// Encodes a text (and optional pair) with special tokens, truncation and padding as configured
    /// (`truncation`/`padding` override the file's settings; pass `.some(nil)` to disable).
    public func encode(_ text: String, pair: String? = nil, addSpecialTokens: Bool = true,
                       truncation: TruncationParams?? = nil, padding: PaddingParams?? = nil) throws -> Encoding {
        var a = try encodeSequence(text.unicodeScalars.map(\.value), typeID: 0, sequenceID: 0)
        var b = try pair.map { try encodeSequence($0.unicodeScalars.map(\.value), typeID: 1, sequenceID: 1) }
        let trunc = truncation ?? config.truncation
        if let t = trunc {
            var p = t
            let n = addSpecialTokens ? (config.postProcessor?.addedTokens(isPair: b != nil) ?? 0) : 0
            if n > 0 {
                guard t.maxLength >= n else { throw TokenizerError.truncation("max length \(t.maxLength) is smaller than the \(n) special tokens") }
                p.maxLength = t.maxLength - n
            }
            try truncateEncodings(&a, &b, p)
        }
        var e: Encoding
        if let pp = config.postProcessor {
            e = pp.process(a, b, addSpecialTokens: addSpecialTokens)
        } else {
            e = PostProcessor.byteLevel(trimOffsets: false, addPrefixSpace: false).process(a, b, addSpecialTokens: false)
        }
        if let pad = (padding ?? config.padding) {
            // A single encoding is its own batch: batch-longest only rounds up to the multiple.
            let len: Int
            switch pad.strategy {
            case .fixed(let l): len = try PaddingParams.checkedLength(l)
            case .batchLongest: len = e.count
            }
            e.pad(to: roundUp(len, pad.padToMultipleOf), padID: pad.padID, padTypeID: pad.padTypeID, padToken: pad.padToken, direction: pad.direction)
        }
        return e
    }

    /// Encodes many inputs in parallel over all cores; padding `batchLongest` pads to the longest.
    public func encodeBatch(_ texts: [String], pairs: [String]? = nil, addSpecialTokens: Bool = true,
                            truncation: TruncationParams?? = nil, padding: PaddingParams?? = nil) throws -> [Encoding] {
        let n = texts.count
        let results = UnsafeMutableBufferPointer<Result<Encoding, Error>>.allocate(capacity: n)
        defer { results.deallocate() }
        let chunk = max(1, min(64, n / (ProcessInfo.processInfo.activeProcessorCount * 4)))
        let chunks = (n + chunk - 1) / chunk
        let box = UnsafeSendableBuffer(results)
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            for i in (c * chunk)..<min(n, (c + 1) * chunk) {
                let r = Result { try self.encode(texts[i], pair: pairs?[i], addSpecialTokens: addSpecialTokens, truncation: truncation, padding: .some(nil)) }
                (box.base.baseAddress! + i).initialize(to: r)
            }
        }
        var out: [Encoding] = []
        out.reserveCapacity(n)
        for i in 0..<n { out.append(try results[i].get()) }
        (results.baseAddress!).deinitialize(count: n)
        if let pad = (padding ?? config.padding) {
            var len: Int
            switch pad.strategy {
            case .fixed(let l): len = try PaddingParams.checkedLength(l)
            case .batchLongest: len = out.map(\.count).max() ?? 0
            }
            len = roundUp(len, pad.padToMultipleOf)
            for i in out.indices { out[i].pad(to: len, padID: pad.padID, padTypeID: pad.padTypeID, padToken: pad.padToken, direction: pad.direction) }
        }
        return out
    }

    /// Decodes ids to text (special added tokens skipped on request).
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) throws -> String {
        var toks: [String] = []
        toks.reserveCapacity(ids.count)
        for id in ids {
            guard let t = token(of: id) else { throw TokenizerError.unknownID(id) }
            if skipSpecialTokens && added.isSpecial(id: id) { continue }
            toks.append(t)
        }
        if let d = config.decoder { return try d.decode(toks) }
        return toks.joined(separator: " ")
    }

    /// The tokenizer.json text.
    public func serialized(pretty: Bool = true) -> String { config.json.serialized(pretty: pretty) }

    /// Writes tokenizer.json.
    public func save(to url: URL, pretty: Bool = true) throws {
        do { try Data(serialized(pretty: pretty).utf8).write(to: url, options: .atomic) } catch {
            throw TokenizerError.unreadableFile(path: url.path, reason: "cannot write: \(error.localizedDescription)")
        }
    }
}

func roundUp(_ n: Int, _ multiple: Int?) -> Int {
    guard let m = multiple, m > 0, n % m != 0 else { return n }
    return n + m - n % m
}

/// Lets concurrentPerform workers write disjoint slots of one buffer.
struct UnsafeSendableBuffer<T>: @unchecked Sendable {
    let base: UnsafeMutableBufferPointer<T>
    init(_ b: UnsafeMutableBufferPointer<T>) { base = b }
}
