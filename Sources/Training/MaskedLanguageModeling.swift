import Foundation
import Models

/// Masked language modelling (Devlin et al. 2019, §3.1 Task #1) with the shared model's MLM head:
/// mean cross-entropy over the masked positions of the whole accumulated batch. Only the masked
/// rows of the last layer are computed and scored.
///
/// Metrics: `mlm_loss`, `mlm_accuracy`; held out also `perplexity` and
/// `unigram_baseline_accuracy` (always guessing the most frequent masked token of the evaluation
/// batches: an upper bound on any context-free guess).
public final class MaskedLanguageModeling: PretrainingObjective {
    public let head: MaskedLMHead
    public let name = ObjectiveKind.mlm.rawValue

    public init(model: PretrainingModel) throws {
        guard let head = model.maskedLM else { throw ModelError.invalidConfiguration("MLM needs a model with the masked-LM head") }
        self.head = head
    }

    public var parameters: [Parameter] { head.parameters }

    public func rowsRead(in batch: PretrainingBatch) -> [Int32] { batch.positions }

    public func normalizerCounts(in batch: PretrainingBatch) -> [Int] { [batch.predictionCount] }

    public func loss(_ pass: ForwardPass, normalizers: [Int], statistics: inout ObjectiveStatistics) throws -> Variable? {
        let batch = pass.batch
        let out = try pass.encoderOutput()
        let m = Float(max(1, normalizers[0]))
        let (loss, predictions) = try head.loss(out.hidden, positions: out.rows(at: batch.positions), targets: batch.labels,
                                                normalizer: m, tape: pass.tape)
        statistics.add("mlm_loss", Double(loss.value.scalar) * Double(m), over: batch.predictionCount)
        statistics.add("mlm_accuracy", Double(matches(predictions, batch.labels)),
                       over: batch.predictionCount)
        return loss
    }

    public func forwardFLOPs(of batch: PretrainingBatch) -> Double { head.forwardFLOPs(rows: batch.predictionCount) }

    public func evaluationMetrics(over batches: [PretrainingBatch], statistics: ObjectiveStatistics) -> [String: Double] {
        languageModelingMetrics(over: batches, loss: statistics.mean("mlm_loss"))
    }
}
