import Autodiff
import BLAS
import Models
import PretrainingData
import Tensors

/// Cross-lingual sentence retrieval (XLM, Lample & Conneau 2019; the Tatoeba-style test of
/// XTREME): every sentence of both languages is embedded on its own — `prefix A suffix` in its
/// language, mean of the last hidden states over its tokens, L2-normalised — and each
/// first-language sentence retrieves its nearest second-language sentence by cosine. Top-1
/// accuracy is the share that find their own translation; chance is 1 / number of pairs.
public struct CrossLingualRetrieval {
    public let pairs: [TranslationPair]
    let template: SequenceTemplate
    let length: Int
    let positionOffset: Int
    let padID: Int32

    public init(pairs: [TranslationPair], template: SequenceTemplate, length: Int, positionOffset: Int = 0, padID: Int32) {
        (self.pairs, self.template, self.length, self.positionOffset, self.padID) = (pairs, template, length, positionOffset, padID)
    }

    /// Unit-length sentence vectors (N·H values) of one side of every pair.
    public func embeddings(of side: Int, encoder: Encoder, batchSize: Int = 64) throws -> [Float] {
        let h = encoder.config.hiddenSize
        var out: [Float] = []
        out.reserveCapacity(pairs.count * h)
        let pooling = SentencePooling(mode: .mean, normalize: true)
        for start in stride(from: 0, to: pairs.count, by: batchSize) {
            let items = pairs[start..<min(pairs.count, start + batchSize)].map { pair in
                let instance = TranslationInstances.monolingual(side == 0 ? pair.first : pair.second,
                                                                language: side == 0 ? pair.firstLanguage : pair.secondLanguage,
                                                                template: template, length: length, positionOffset: positionOffset)
                return (instance, MaskedInstance(inputIDs: instance.ids, positions: [], labels: []))
            }
            let longest = items.map(\.0.ids.count).max() ?? 1
            let batch = PretrainingBatch(items, length: longest, padID: padID)
            let hidden = try encoder(batch.input, training: false, tape: Tape(recording: false)).hidden.value
            let mask = Tensor(batch.input.attentionMask ?? [Float](repeating: 1, count: items.count * longest), shape: [items.count, longest])
            out += pooling.pool(hidden: hidden, mask: mask)
        }
        return out
    }

    /// Top-1 accuracy from the first language to the second and back.
    public func accuracy(encoder: Encoder) throws -> (firstToSecond: Double, secondToFirst: Double) {
        let (a, b) = (try embeddings(of: 0, encoder: encoder), try embeddings(of: 1, encoder: encoder))
        let n = pairs.count, h = encoder.config.hiddenSize
        guard n > 0 else { return (0, 0) }
        // (N,H)·(N,H)ᵀ cosine similarities.
        let similarity = Tensor(uninitialized: [n, n])
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                BLAS.gemm(transposeA: false, transposeB: true, m: n, n: n, k: h, alpha: 1, a: a.baseAddress!, lda: h,
                          b: b.baseAddress!, ldb: h, beta: 0, c: similarity.data, ldc: n)
            }
        }
        var rowHits = 0, columnHits = 0
        let s = similarity.data
        for i in 0..<n {
            var best = 0
            for j in 1..<n where s[i * n + j] > s[i * n + best] { best = j }
            if best == i { rowHits += 1 }
            var bestRow = 0
            for j in 1..<n where s[j * n + i] > s[bestRow * n + i] { bestRow = j }
            if bestRow == i { columnHits += 1 }
        }
        return (Double(rowHits) / Double(n), Double(columnHits) / Double(n))
    }
}
