import Models
import PretrainingData

/// BERT's next-sentence prediction (Devlin et al. 2019, §3.1 Task #2) or ALBERT's sentence-order
/// prediction (Lan et al. 2020, §4.2): a two-way classifier on the pooled [CLS], mean
/// cross-entropy over the sequences of the accumulated batch. Metrics `nsp_loss`,
/// `nsp_accuracy` (or `sop_…`).
public final class SentencePairPrediction: PretrainingObjective {
    public let task: SentenceTask
    public let head: SentencePairHead

    public init(task: SentenceTask, model: PretrainingModel) throws {
        guard task != .none else { throw ModelError.invalidConfiguration("a sentence-pair objective needs nsp or sop") }
        guard let head = model.sentencePair else {
            throw ModelError.invalidConfiguration("\(task.rawValue) needs a model with the sentence-pair head (and its pooler)")
        }
        (self.task, self.head) = (task, head)
    }

    public var name: String { task.rawValue }
    public var parameters: [Parameter] { head.parameters }

    public func normalizerCounts(in batch: PretrainingBatch) -> [Int] { [batch.sentenceLabels.count] }

    public func loss(_ pass: ForwardPass, normalizers: [Int], statistics: inout ObjectiveStatistics) throws -> Variable? {
        let labels = pass.batch.sentenceLabels
        guard !labels.isEmpty, let pooled = try pass.encoderOutput().pooled else { return nil }
        let s = Float(max(1, normalizers[0]))
        let logits = head(pooled, tape: pass.tape)
        let loss = pass.tape.crossEntropy(logits, targets: labels, normalizer: s)
        statistics.add("\(name)_loss", Double(loss.value.scalar) * Double(s), over: labels.count)
        statistics.add("\(name)_accuracy", Double(correctCount(logits.value, labels)), over: labels.count)
        return loss
    }

    public func forwardFLOPs(of batch: PretrainingBatch) -> Double { head.forwardFLOPs(sequences: batch.sentenceLabels.count) }
}
