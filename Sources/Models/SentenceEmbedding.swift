import Foundation

/// How token vectors become one sentence vector, as sentence-transformers' `modules.json` and
/// `1_Pooling/config.json` describe it (Reimers & Gurevych 2019).
public struct SentencePooling: Equatable, Sendable {
    public enum Mode: String, Sendable { case mean, cls, max, meanSqrtLength }
    public var mode: Mode
    /// Whether a `Normalize` module follows (unit L2 norm).
    public var normalize: Bool
    /// `max_seq_length` from `sentence_bert_config.json`, when given.
    public var maxSequenceLength: Int?

    public init(mode: Mode = .mean, normalize: Bool = true, maxSequenceLength: Int? = nil) {
        self.mode = mode
        self.normalize = normalize
        self.maxSequenceLength = maxSequenceLength
    }

    /// Reads the sentence-transformers files of a model folder; mean pooling + L2 normalisation
    /// when there are none.
    public static func load(folder: URL) throws -> SentencePooling {
        let modulesURL = folder.appendingPathComponent("modules.json")
        var pooling = SentencePooling()
        if let data = try? Data(contentsOf: modulesURL) {
            struct Module: Decodable { let path: String; let type: String }
            let modules: [Module]
            do { modules = try JSONDecoder().decode([Module].self, from: data) } catch {
                throw ModelError.invalidConfiguration("\(modulesURL.path) is not a sentence-transformers modules.json: \(error)")
            }
            pooling.normalize = modules.contains { $0.type.hasSuffix(".Normalize") }
            if let poolingModule = modules.first(where: { $0.type.hasSuffix(".Pooling") }) {
                let configURL = folder.appendingPathComponent(poolingModule.path).appendingPathComponent("config.json")
                struct Config: Decodable {
                    let pooling_mode_cls_token: Bool?, pooling_mode_mean_tokens: Bool?
                    let pooling_mode_max_tokens: Bool?, pooling_mode_mean_sqrt_len_tokens: Bool?
                }
                let config: Config
                do { config = try JSONDecoder().decode(Config.self, from: Data(contentsOf: configURL)) } catch {
                    throw ModelError.invalidConfiguration("cannot read pooling config \(configURL.path): \(error)")
                }
                if config.pooling_mode_cls_token == true { pooling.mode = .cls }
                else if config.pooling_mode_max_tokens == true { pooling.mode = .max }
                else if config.pooling_mode_mean_sqrt_len_tokens == true { pooling.mode = .meanSqrtLength }
                else { pooling.mode = .mean }
            }
        }
        struct BertConfig: Decodable { let max_seq_length: Int? }
        if let data = try? Data(contentsOf: folder.appendingPathComponent("sentence_bert_config.json")),
           let config = try? JSONDecoder().decode(BertConfig.self, from: data) {
            pooling.maxSequenceLength = config.max_seq_length
        }
        return pooling
    }

    /// Writes the sentence-transformers files that ``load(folder:)`` reads, as
    /// `SentenceTransformer.save` lays them out (the Transformer module is the folder itself):
    /// `modules.json`, `1_Pooling/config.json`, `2_Normalize/` when normalising (an empty folder,
    /// as sentence-transformers writes it), `sentence_bert_config.json` and
    /// `config_sentence_transformers.json` (cosine similarity).
    public func save(folder: URL, hiddenSize: Int) throws {
        func write(_ object: Any, to url: URL) throws {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                .write(to: url, options: .atomic)
        }
        var modules: [[String: Any]] = [
            ["idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"],
            ["idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"],
        ]
        if normalize {
            modules.append(["idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"])
            try FileManager.default.createDirectory(at: folder.appendingPathComponent("2_Normalize"), withIntermediateDirectories: true)
        }
        try write(modules, to: folder.appendingPathComponent("modules.json"))
        // Exactly the keys every sentence-transformers version accepts (Pooling(**config)).
        try write(["word_embedding_dimension": hiddenSize,
                   "pooling_mode_cls_token": mode == .cls, "pooling_mode_mean_tokens": mode == .mean,
                   "pooling_mode_max_tokens": mode == .max, "pooling_mode_mean_sqrt_len_tokens": mode == .meanSqrtLength],
                  to: folder.appendingPathComponent("1_Pooling").appendingPathComponent("config.json"))
        var bert: [String: Any] = ["do_lower_case": false]
        if let maxSequenceLength { bert["max_seq_length"] = maxSequenceLength }
        try write(bert, to: folder.appendingPathComponent("sentence_bert_config.json"))
        try write(["similarity_fn_name": "cosine"], to: folder.appendingPathComponent("config_sentence_transformers.json"))
    }

    /// hidden (B,T,H) and mask (B,T) → sentence vectors (B·H values, row-major).
    public func pool(hidden: Tensor, mask: Tensor) -> [Float] {
        let (b, t, h) = (hidden.shape[0], hidden.shape[1], hidden.shape[2])
        var out = [Float](repeating: 0, count: b * h)
        switch mode {
        case .mean, .meanSqrtLength:
            let pooled = Tensor(uninitialized: [b, h])
            LossKernels.meanPoolForward(pooled.data, hidden.data, mask: mask.data, batch: b, steps: t, columns: h)
            out = pooled.scalars
            if mode == .meanSqrtLength {
                for i in 0..<b {
                    let count = (0..<t).reduce(Float(0)) { $0 + mask[i, $1] }
                    // sentence-transformers: sum / sqrt(count) = mean · count / sqrt(count)
                    for j in 0..<h { out[i * h + j] *= max(count, 1e-9).squareRoot() }
                }
            }
        case .cls:
            for i in 0..<b { for j in 0..<h { out[i * h + j] = hidden[i, 0, j] } }
        case .max:
            for i in 0..<b {
                for j in 0..<h {
                    var m = -Float.greatestFiniteMagnitude
                    for s in 0..<t where mask[i, s] != 0 { m = max(m, hidden[i, s, j]) }
                    out[i * h + j] = m
                }
            }
        }
        if normalize {
            for i in 0..<b {
                var norm: Float = 0
                for j in 0..<h { norm += out[i * h + j] * out[i * h + j] }
                let inv = 1 / max(norm.squareRoot(), 1e-12)
                for j in 0..<h { out[i * h + j] *= inv }
            }
        }
        return out
    }
}
