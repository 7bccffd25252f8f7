import Foundation
import Models
import Tensors

/// Permutation language modelling (XLNet, Yang et al. 2019) with two-stream attention on the
/// shared encoder and its MLM head: each target is predicted from the query stream, which sees
/// the context and the targets before it in a random factorisation order, never its own token
/// (``PermutationMasks``, ``Encoder/twoStream(_:targetPositions:queries:maskTokenID:contentMask:queryMask:training:tape:)``).
/// Mean cross-entropy over the targets of the whole accumulated batch.
///
/// Positions are absolute (as in MPNet, Song et al. 2020), not XLNet's relative attention with
/// segment recurrence and memory, so the content stream is a plain encoder that exports, loads
/// and fine-tunes like any BERT/RoBERTa.
///
/// Metrics: `plm_loss`, `plm_accuracy`; held out also `perplexity` and `unigram_baseline_accuracy`.
public final class PermutationLanguageModeling: PretrainingObjective {
    public let head: MaskedLMHead
    public let encoder: Encoder
    /// The token whose embedding starts the query stream.
    public let maskTokenID: Int32
    public let name = ObjectiveKind.plm.rawValue

    public init(model: PretrainingModel, maskTokenID: Int32) throws {
        guard let head = model.maskedLM else { throw ModelError.invalidConfiguration("PLM needs a model with the masked-LM head") }
        (self.head, self.encoder, self.maskTokenID) = (head, model.encoder, maskTokenID)
    }

    public var parameters: [Parameter] { head.parameters }

    public func normalizerCounts(in batch: PretrainingBatch) -> [Int] { [batch.predictionCount] }

    public func loss(_ pass: ForwardPass, normalizers: [Int], statistics: inout ObjectiveStatistics) throws -> Variable? {
        let batch = pass.batch
        guard let masks = batch.permutation else {
            throw ModelError.invalidConfiguration("plm needs batches with permutation targets (the recipe's objectives [\"plm\"] choose them)")
        }
        guard batch.predictionCount > 0 else { return nil }
        let (b, t, q) = (batch.input.batch, batch.input.length, masks.queries)
        let g = try encoder.twoStream(batch.input, targetPositions: masks.targetPositions, queries: q, maskTokenID: maskTokenID,
                                      contentMask: Tensor(masks.content, shape: [b, t, t]), queryMask: Tensor(masks.query, shape: [b, q, t]),
                                      training: pass.training, tape: pass.tape)
        let m = Float(max(1, normalizers[0]))
        let (loss, predictions) = try head.loss(g, positions: masks.rows, targets: batch.labels, normalizer: m, tape: pass.tape)
        statistics.add("plm_loss", Double(loss.value.scalar) * Double(m), over: batch.predictionCount)
        statistics.add("plm_accuracy", Double(matches(predictions, batch.labels)), over: batch.predictionCount)
        return loss
    }

    /// The query stream beyond the content stream the encoder's count covers: per layer and query
    /// row, its Q and output projections, feed-forward block and attention over T keys; then the head.
    public func forwardFLOPs(of batch: PretrainingBatch) -> Double {
        let c = encoder.config
        let (h, i) = (Double(c.hiddenSize), Double(c.intermediateSize))
        let rows = Double(batch.input.batch * (batch.permutation?.queries ?? 0))
        let perLayer = 2 * (2 * h * h + 2 * h * i) + 2 * 2 * Double(batch.input.length) * h
        let projection = encoder.projection == nil ? 0 : 2 * Double(c.embeddingSize) * h
        return rows * (projection + Double(encoder.layers.count) * perLayer) + head.forwardFLOPs(rows: batch.predictionCount)
    }

    public func evaluationMetrics(over batches: [PretrainingBatch], statistics: ObjectiveStatistics) -> [String: Double] {
        languageModelingMetrics(over: batches, loss: statistics.mean("plm_loss"))
    }
}

/// Held-out perplexity exp(mean loss) and the unigram baseline: the accuracy of always guessing
/// the most frequent target of the evaluation batches (an upper bound on any context-free guess).
func languageModelingMetrics(over batches: [PretrainingBatch], loss: Double?) -> [String: Double] {
    var counts: [Int32: Int] = [:]
    for batch in batches { for label in batch.labels where label != PretrainingBatch.ignoredLabel { counts[label, default: 0] += 1 } }
    let predictions = batches.reduce(0) { $0 + $1.predictionCount }
    return ["perplexity": exp(loss ?? .nan), "unigram_baseline_accuracy": Double(counts.values.max() ?? 0) / Double(max(1, predictions))]
}
