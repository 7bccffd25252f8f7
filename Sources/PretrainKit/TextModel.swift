import Foundation
import Models
import Tensors
import Tokenizers

/// A Hugging Face model folder ready to use from Swift: the network (any family this package
/// reads — BERT, RoBERTa, ALBERT, ELECTRA, DistilBERT, GPT-2) with its tokenizer, and the jobs
/// people load one for, each one call:
///
/// ```swift
/// import PretrainKit
///
/// let minilm = try TextModel("data/minilm")                       // a sentence-transformers folder
/// let vectors = try minilm.embed(["A man is eating.", "Someone eats food."])
/// print(TextModel.cosine(vectors[0], vectors[1]))
///
/// let mlm = try TextModel("runs/main/model")
/// for mask in try mlm.fillMask(["The Lord is my <mask>."])[0] {
///     print(mask.candidates.map { "\($0.text) \($0.probability)" })
/// }
/// ```
///
/// The heads come from the folder's `architectures` (a `…ForMaskedLM` has its MLM head, an
/// `ElectraForPreTraining` its discriminator, a `GPT2LMHeadModel` its LM head); each job checks
/// that the head it needs is there and says which folder to use when it is not.
public final class TextModel {
    public let model: PretrainingModel
    public let tokenizer: Tokenizer
    public let folder: URL
    /// Pooling from the folder's sentence-transformers files (mean pooling when there are none).
    public private(set) lazy var pooling: Result<SentencePooling, Error> = Result { try SentencePooling.load(folder: folder) }

    /// Loads `folder`: config.json + model.safetensors (see `ModelFolder.files(in:)`) and
    /// tokenizer.json (or a WordPiece vocab.txt). `heads` overrides the folder's own.
    public init(folder: URL, heads: HeadSet? = nil) throws {
        self.folder = folder
        model = try PretrainingModel.load(folder: folder, heads: heads)
        tokenizer = try Self.tokenizer(in: folder, vocabSize: model.config.vocabSize)
    }

    /// The folder's tokenizer.json (or WordPiece vocab.txt), checked against the model's vocabulary.
    static func tokenizer(in folder: URL, vocabSize: Int) throws -> Tokenizer {
        let path = ["tokenizer.json", "vocab.txt"].map { folder.appendingPathComponent($0).path }
            .first { FileManager.default.fileExists(atPath: $0) }
        guard let path else { throw ModelError.missingFile(folder.appendingPathComponent("tokenizer.json").path) }
        let tokenizer = try Tokenizer.load(path: path)
        if tokenizer.vocabularySize > vocabSize {
            throw ModelError.invalidConfiguration(
                "the tokenizer has \(tokenizer.vocabularySize) tokens but the model's vocab_size is \(vocabSize); they do not belong together")
        }
        return tokenizer
    }

    /// Loads the folder at `path`.
    public convenience init(_ path: String, heads: HeadSet? = nil) throws {
        try self.init(folder: URL(fileURLWithPath: path), heads: heads)
    }

    /// The longest sequence the model takes.
    public var maxLength: Int { model.config.maxPositions - model.config.positionOffset }

    /// Encodes texts (truncated to `maxLength`, at most the model's), padded to the longest into
    /// one batch, with their encodings.
    public func batch(_ texts: [String], maxLength limit: Int? = nil) throws -> (EncoderInput, [Encoding]) {
        let encodings = try tokenizer.encodeBatch(texts, truncation: .some(TruncationParams(maxLength: min(limit ?? maxLength, maxLength))),
                                                  padding: .some(nil))
        return (EncoderInput(padding: encodings, with: Int32(model.config.padTokenId)), encodings)
    }

    /// `texts` in consecutive groups of `size` (what one forward pass takes).
    static func chunks(_ texts: [String], of size: Int) -> [ArraySlice<String>] {
        stride(from: 0, to: texts.count, by: max(1, size)).map { texts[$0..<min(texts.count, $0 + max(1, size))] }
    }

    // MARK: sentence embeddings

    /// One vector per text, pooled as the folder's sentence-transformers files say (CLS or mean,
    /// normalised or not, its max_seq_length), `batchSize` texts per forward pass.
    public func embed(_ texts: [String], batchSize: Int = 32) throws -> [[Float]] {
        let pooling = try pooling.get()
        let h = model.config.hiddenSize
        var out: [[Float]] = []
        for chunk in Self.chunks(texts, of: batchSize) {
            let (input, _) = try batch(Array(chunk), maxLength: pooling.maxSequenceLength)
            let hidden = try model.encoder(input, training: false, tape: Tape(recording: false)).hidden.value
            let vectors = pooling.pool(hidden: hidden, mask: Tensor(input.attentionMask ?? [], shape: [input.batch, input.length]))
            for b in 0..<chunk.count { out.append(Array(vectors[b * h..<(b + 1) * h])) }
        }
        return out
    }

    /// The cosine of two vectors (0 when either is zero).
    public static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        var dot: Float = 0, na: Float = 0, nb: Float = 0
        for (x, y) in zip(a, b) { dot += x * y; na += x * x; nb += y * y }
        return na > 0 && nb > 0 ? dot / (na.squareRoot() * nb.squareRoot()) : 0
    }

    // MARK: fill-mask

    /// The predictions at one mask token.
    public struct MaskPrediction: Sendable, Equatable {
        /// The mask's position in the encoded text (special tokens included).
        public let position: Int
        /// The `topK` most likely tokens, most likely first.
        public let candidates: [Candidate]
    }

    /// A token that could stand behind a mask.
    public struct Candidate: Sendable, Equatable {
        public let id: Int
        /// The vocabulary entry (`Ġthe`, `##ing`).
        public let token: String
        /// The token as text (Hugging Face's `token_str`: ` the` → `the`, `##ing` → `ing`).
        public let text: String
        public let probability: Double
    }

    /// For each text, the `topK` most likely tokens at each `[MASK]` / `<mask>` (a masked-LM folder).
    public func fillMask(_ texts: [String], topK: Int = 5, batchSize: Int = 32) throws -> [[MaskPrediction]] {
        guard let head = model.maskedLM else {
            throw ModelError.invalidConfiguration("\(folder.path) has no masked-LM head (its architectures name none); use a …ForMaskedLM or …ForPreTraining folder")
        }
        guard let maskID = tokenizer.id(of: "[MASK]") ?? tokenizer.id(of: "<mask>") else {
            throw ModelError.invalidConfiguration("the tokenizer has no [MASK] or <mask> token")
        }
        var out: [[MaskPrediction]] = []
        let v = model.config.vocabSize
        for chunk in Self.chunks(texts, of: batchSize) {
            let (input, encodings) = try batch(Array(chunk))
            var positions: [Int32] = []
            for (b, e) in encodings.enumerated() {
                for (t, id) in e.ids.enumerated() where id == maskID { positions.append(Int32(b * input.length + t)) }
            }
            let tape = Tape(recording: false)
            // Only the mask rows are read, so the last layer runs on those rows alone.
            let hidden = try model.encoder(input, training: false, tape: tape, readingOnly: positions)
            let logits = positions.isEmpty ? nil : try head(hidden.hidden, positions: hidden.rows(at: positions), tape: tape).value
            var row = 0
            for e in encodings {
                var masks: [MaskPrediction] = []
                for (t, id) in e.ids.enumerated() where id == maskID {
                    guard let logits else { break }
                    let scores = UnsafeBufferPointer(start: logits.data + row * v, count: v)
                    row += 1
                    let largest = scores.max() ?? 0
                    let total = scores.reduce(0.0) { $0 + exp(Double($1 - largest)) }
                    let top = scores.indices.sorted { scores[$0] > scores[$1] }.prefix(max(0, topK))
                    masks.append(MaskPrediction(position: t, candidates: top.map { id in
                        Candidate(id: id, token: tokenizer.token(of: id) ?? "",
                                  text: ((try? tokenizer.decode([id])) ?? tokenizer.token(of: id) ?? "").trimmingCharacters(in: .whitespaces),
                                  probability: exp(Double(scores[id] - largest)) / total)
                    }))
                }
                out.append(masks)
            }
        }
        return out
    }

    // MARK: replaced-token detection

    /// ELECTRA's discriminator on one text: each token (specials included), its logit, and
    /// whether it looks replaced (logit > 0).
    public struct TokenScores: Sendable, Equatable {
        public let tokens: [String]
        public let logits: [Float]
        public var replaced: [Bool] { logits.map { $0 > 0 } }
    }

    /// Scores every token of each text as original or replaced (an `ElectraForPreTraining` folder).
    public func detectReplaced(_ texts: [String], batchSize: Int = 32) throws -> [TokenScores] {
        guard let head = model.replacedToken else {
            throw ModelError.invalidConfiguration("\(folder.path) is not an ELECTRA discriminator (ElectraForPreTraining)")
        }
        var out: [TokenScores] = []
        for chunk in Self.chunks(texts, of: batchSize) {
            let (input, encodings) = try batch(Array(chunk))
            let tape = Tape(recording: false)
            let logits = head(try model.encoder(input, training: false, tape: tape).hidden, tape: tape).value
            for (b, e) in encodings.enumerated() {
                out.append(TokenScores(tokens: e.tokens, logits: (0..<e.count).map { logits.data[b * input.length + $0] }))
            }
        }
        return out
    }

    // MARK: generation

    /// A prompt's continuation.
    public struct Continuation: Sendable, Equatable {
        public let promptIDs: [Int]
        /// The generated tokens only.
        public let ids: [Int]
        /// The generated text (special tokens dropped).
        public let text: String
    }

    /// Continues each prompt with a causal LM (a `GPT2LMHeadModel` folder): incremental decoding
    /// with a key/value cache, greedy or sampled as `options` say, stopping at end-of-text.
    /// `promptIndexOffset` numbers the prompts' sampling streams (for results independent of batching).
    public func generate(_ prompts: [String], options: GenerationOptions = GenerationOptions(), promptIndexOffset: Int = 0,
                         batchSize: Int = 32) throws -> [Continuation] {
        var out: [Continuation] = []
        var index = promptIndexOffset
        for chunk in Self.chunks(prompts, of: batchSize) {
            let ids = try chunk.map { text in try tokenizer.encode(text, addSpecialTokens: false).ids.map { Int32($0) } }
            let generated = try model.generate(ids, options: options, promptIndexOffset: index)
            for (prompt, new) in zip(ids, generated) {
                out.append(Continuation(promptIDs: prompt.map(Int.init), ids: new.map(Int.init),
                                        text: try tokenizer.decode(new.map(Int.init), skipSpecialTokens: true)))
            }
            index += chunk.count
        }
        return out
    }
}

extension EncoderInput {
    /// Encodings padded with `padID` to the longest of them (attention mask 0 there), one row each.
    init(padding encodings: [Encoding], with padID: Int32) {
        let length = max(1, encodings.map(\.count).max() ?? 1)
        var ids: [Int32] = [], types: [Int32] = [], mask: [Float] = []
        for e in encodings {
            let pad = length - e.count
            ids += e.ids.map { Int32($0) } + [Int32](repeating: padID, count: pad)
            types += e.typeIDs.map { Int32($0) } + [Int32](repeating: 0, count: pad)
            mask += [Float](repeating: 1, count: e.count) + [Float](repeating: 0, count: pad)
        }
        self.init(ids: ids, tokenTypes: types, attentionMask: mask, batch: encodings.count, length: length)
    }
}
