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
