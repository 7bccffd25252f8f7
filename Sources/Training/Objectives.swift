import Foundation
import Models

/// The pretraining objectives a recipe combines, each owning its head: MLM (Devlin et al. 2019),
/// NSP (Devlin et al.) or SOP (Lan et al. 2020) on the pooled [CLS], and SpanBERT's SBO (Joshi et
/// al. 2020). Losses are sums over the micro-batch divided by counts over the whole accumulated
/// batch, so accumulating k micro-batches gives exactly the gradient of one k-times-larger batch.
public final class PretrainingObjectives: Module {
    public let model: PretrainingModel
    public let spanBoundary: SpanBoundaryHead?
    /// "nsp" or "sop" when a sentence-level head trains, else nil.
    public let sentenceTask: String?

    public init(model: PretrainingModel, sentenceTask: String?, spanBoundary: Bool, seed: UInt64) {
        self.model = model
        self.sentenceTask = sentenceTask
        var rng = RandomGenerator(seed: seed, stream: [0x5b0])
        self.spanBoundary = spanBoundary ? SpanBoundaryHead(config: model.config, tiedTo: model.encoder.embeddings.words, rng: &rng) : nil
    }

    public var parameters: [Parameter] { model.parameters + (spanBoundary?.parameters ?? []) }

    /// Normalisers over the whole accumulated batch.
    public struct Normalizers: Sendable {
        public var predictions: Int
        public var sequences: Int
        public init(predictions: Int, sequences: Int) { (self.predictions, self.sequences) = (predictions, sequences) }
    }

    /// One forward pass: the summed (normalised) loss to differentiate and the statistics to log.
    public func loss(_ batch: PretrainingBatch, normalizers: Normalizers, training: Bool, tape: Tape) throws -> (Variable, ObjectiveStatistics) {
        guard let head = model.maskedLM else { throw ModelError.invalidConfiguration("pretraining needs the masked-LM head") }
        var stats = ObjectiveStatistics()
        // The heads read the masked positions (and SBO's span boundaries) only, so the last
        // layer runs on those rows alone.
        let read = batch.positions + (spanBoundary == nil ? [] : batch.spanLeft + batch.spanRight)
        let out = try model.encoder(batch.input, training: training, tape: tape, readingOnly: read)
        let m = Float(max(1, normalizers.predictions))
        let (mlmLoss, predictions) = try head.loss(out.hidden, positions: out.rows(at: batch.positions), targets: batch.labels,
                                                   normalizer: m, tape: tape)
        var total = mlmLoss
        stats.mlmLoss = Double(total.value.scalar) * Double(m)
        stats.mlmCorrect = zip(predictions, batch.labels).reduce(0) { $0 + ($1.0 == $1.1 ? 1 : 0) }
        stats.predictions = batch.predictionCount

        if sentenceTask != nil, let pairHead = model.sentencePair, let pooled = out.pooled, !batch.sentenceLabels.isEmpty {
            let s = Float(max(1, normalizers.sequences))
            let pairLogits = pairHead(pooled, tape: tape)
            let pairLoss = tape.crossEntropy(pairLogits, targets: batch.sentenceLabels, normalizer: s)
            stats.sentenceLoss = Double(pairLoss.value.scalar) * Double(s)
            stats.sentenceCorrect = Self.correctCount(pairLogits.value, batch.sentenceLabels)
            stats.sequences = batch.sentenceLabels.count
            total = tape.add(total, pairLoss)
        }
        if let sbo = spanBoundary, !batch.spanLeft.isEmpty {
            let sboLogits = try sbo(out.hidden, left: out.rows(at: batch.spanLeft), right: out.rows(at: batch.spanRight),
                                    offsets: batch.spanOffsets, tape: tape)
            let sboLoss = tape.crossEntropy(sboLogits, targets: batch.labels, normalizer: m)
            stats.sboLoss = Double(sboLoss.value.scalar) * Double(m)
            stats.sboCorrect = Self.correctCount(sboLogits.value, batch.labels)
            total = tape.add(total, sboLoss)
        }
        return (total, stats)
    }

    /// Rows of `logits` (N,C) whose argmax equals the label.
    static func correctCount(_ logits: Tensor, _ labels: [Int32]) -> Int {
        let (n, c) = (logits.rowCount, logits.lastDimension)
        let hits = UnsafeMutableBufferPointer<Int32>.allocate(capacity: max(1, n))
        defer { hits.deallocate() }
        let data = logits.data, out = hits.baseAddress!
        labels.withUnsafeBufferPointer { labels in
            let labels = labels.baseAddress!
            parallelFor(n, grain: 16) { range in
                for r in range {
                    let row = data + r * c
                    var best = 0
                    for j in 1..<c where row[j] > row[best] { best = j }
                    out[r] = best == Int(labels[r]) ? 1 : 0  // ignored rows (−100) never match
                }
            }
        }
        return hits.prefix(n).reduce(0) { $0 + Int($1) }
    }
}

/// Sums of losses and counts over micro-batches; `merge` them, then read the means.
public struct ObjectiveStatistics: Sendable, Equatable {
    public var mlmLoss = 0.0, mlmCorrect = 0, predictions = 0
    public var sentenceLoss = 0.0, sentenceCorrect = 0, sequences = 0
    public var sboLoss = 0.0, sboCorrect = 0
    public var tokens = 0

    public init() {}

    public mutating func merge(_ o: ObjectiveStatistics) {
        mlmLoss += o.mlmLoss; mlmCorrect += o.mlmCorrect; predictions += o.predictions
        sentenceLoss += o.sentenceLoss; sentenceCorrect += o.sentenceCorrect; sequences += o.sequences
        sboLoss += o.sboLoss; sboCorrect += o.sboCorrect; tokens += o.tokens
    }

    public var meanMLMLoss: Double { mlmLoss / Double(max(1, predictions)) }
    public var mlmAccuracy: Double { Double(mlmCorrect) / Double(max(1, predictions)) }
    public var meanSentenceLoss: Double { sentenceLoss / Double(max(1, sequences)) }
    public var sentenceAccuracy: Double { Double(sentenceCorrect) / Double(max(1, sequences)) }
    public var meanSBOLoss: Double { sboLoss / Double(max(1, predictions)) }
    public var sboAccuracy: Double { Double(sboCorrect) / Double(max(1, predictions)) }
    /// The optimised loss: the objectives' means added.
    public func totalLoss(sentence: Bool, sbo: Bool) -> Double {
        meanMLMLoss + (sentence ? meanSentenceLoss : 0) + (sbo ? meanSBOLoss : 0)
    }
}
