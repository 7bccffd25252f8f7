/// WordPiece (BERT): greedy longest match from the start of each word, continuation pieces
/// prefixed with `##`; a word with an unmatched part, or longer than `maxInputCharsPerWord`
/// scalars, becomes the unknown token.
public final class WordPiece: Sendable {
    /// Vocabulary (continuation pieces carry the prefix).
    public let vocab: Vocabulary
    /// Unknown token.
    public let unkToken: String
    /// Id of the unknown token, if in the vocabulary.
    public let unkID: Int?
    /// Prefix of non-initial pieces ("##").
    public let continuingSubwordPrefix: String
    /// Longer words (in scalars) become the unknown token.
    public let maxInputCharsPerWord: Int
    /// Trie node of the continuation prefix (-1 when no token starts with it).
    let prefixNode: Int32

    /// Creates a WordPiece model.
    public init(vocab: Vocabulary, unkToken: String = "[UNK]", continuingSubwordPrefix: String = "##", maxInputCharsPerWord: Int = 100) {
        self.vocab = vocab
        self.unkToken = unkToken
        self.unkID = vocab.id(unkToken)
        self.continuingSubwordPrefix = continuingSubwordPrefix
        self.maxInputCharsPerWord = maxInputCharsPerWord
        self.prefixNode = vocab.trie.walk(continuingSubwordPrefix.unicodeScalars.lazy.map(\.value))
    }

    /// Loads a BERT `vocab.txt` (one token per line, id = line number).
    public convenience init(vocabTxt text: String, unkToken: String = "[UNK]") throws {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            var l = Substring(line)
            if l.unicodeScalars.last == "\r" { l = Substring(l.unicodeScalars.dropLast()) }
            return String(l)
        }
        if lines.last == "" { lines.removeLast() }
        guard !lines.isEmpty else { throw TokenizerError.invalidField(path: "vocab.txt", reason: "the file is empty") }
        self.init(vocab: Vocabulary(tokens: lines), unkToken: unkToken)
    }

    /// Tokenizes one word.
    public func tokenize(_ s: [UInt32]) -> [Token] {
        let n = s.count
        if n == 0 { return [] }
        let unk = unkID ?? 0
        if n > maxInputCharsPerWord { return [Token(id: unk, start: 0, end: n)] }
        var out: [Token] = []
        out.reserveCapacity(4)
        var start = 0
        let trie = vocab.fast
        while start < n {
            var node: Int32 = start == 0 ? 0 : prefixNode
            var best = -1, bestID: Int32 = -1
            var i = start
            while node >= 0 && i < n {
                node = trie.child(node, s[i])
                if node < 0 { break }
                i += 1
                let v = trie.value(node)
                if v >= 0 { best = i; bestID = v }
            }
            if best < 0 { return [Token(id: unk, start: 0, end: n)] }
            out.append(Token(id: Int(bestID), start: start, end: best))
            start = best
        }
        return out
    }

    convenience init(json f: JSONField) throws {
        let vocab = try vocabulary(fromMap: try f.field("vocab"))
        let unk = try f.string("unk_token", default: "[UNK]")
        // Every word WordPiece cannot split becomes this token: without it, such words would
        // silently become id 0.
        guard vocab.id(unk) != nil else {
            throw TokenizerError.invalidField(path: f.sub("unk_token"), reason: "'\(unk)' is not in the vocabulary; add it to model.vocab or name a token that is there")
        }
        self.init(vocab: vocab, unkToken: unk, continuingSubwordPrefix: try f.string("continuing_subword_prefix", default: "##"),
                  maxInputCharsPerWord: try f.int("max_input_chars_per_word", default: 100))
    }

    var json: JSONValue {
        .object([("type", .string("WordPiece")), ("unk_token", .string(unkToken)), ("continuing_subword_prefix", .string(continuingSubwordPrefix)),
                 ("max_input_chars_per_word", .number(Double(maxInputCharsPerWord))), ("vocab", vocabularyJSON(vocab))])
    }
}
