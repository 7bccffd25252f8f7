import Foundation
import Models

/// Causal language modelling (Radford et al. 2018, 2019): every position predicts the next token
/// through the tied LM head, as transformers' `GPT2LMHeadModel(labels=input_ids)` does — logits
/// at t score token t+1, padding is never a target, and the loss is the mean over the whole
/// accumulated batch's predictions.
///
/// All B·T rows go through the fused decoder + cross-entropy, the last position of each sequence
/// and padding with ignored targets: no gather of the (B·T, H) hidden states, no scatter back.
///
/// Metrics: `clm_loss`, `clm_accuracy` (the argmax is the next token); held out also `perplexity`.
public final class CausalLanguageModeling: PretrainingObjective {
    public let head: CausalLMHead
    public let name = ObjectiveKind.clm.rawValue

    public init(model: PretrainingModel) throws {
        guard let head = model.causalLM else { throw ModelError.invalidConfiguration("CLM needs a model with the causal LM head (GPT-2)") }
        self.head = head
    }

    public var parameters: [Parameter] { head.parameters }

    /// Per flat position b·T + t: the token at t+1 when both are real tokens, else ignored.
    static func nextTokenTargets(_ input: EncoderInput) -> (targets: [Int32], count: Int) {
        let (b, t) = (input.batch, input.length)
        var targets = [Int32](repeating: PretrainingBatch.ignoredLabel, count: b * t)
        var count = 0
        for row in 0..<b {
            let base = row * t
            for i in 0..<(t - 1) where input.attentionMask.map({ $0[base + i + 1] != 0 }) ?? true {
                targets[base + i] = input.ids[base + i + 1]
                count += 1
            }
        }
        return (targets, count)
    }

    public func normalizerCounts(in batch: PretrainingBatch) -> [Int] { [Self.nextTokenTargets(batch.input).count] }

    public func loss(_ pass: ForwardPass, normalizers: [Int], statistics: inout ObjectiveStatistics) throws -> Variable? {
        let (targets, count) = Self.nextTokenTargets(pass.batch.input)
        guard count > 0 else { return nil }
        let hidden = try pass.encoderOutput().hidden
        let n = Float(max(1, normalizers[0]))
        let (loss, predictions) = head.loss(hidden, targets: targets, normalizer: n, tape: pass.tape)
        statistics.add("clm_loss", Double(loss.value.scalar) * Double(n), over: count)
        statistics.add("clm_accuracy", Double(matches(predictions, targets)), over: count)
        return loss
    }

    public func forwardFLOPs(of batch: PretrainingBatch) -> Double {
        head.forwardFLOPs(rows: batch.input.batch * batch.input.length)
    }

    public func evaluationMetrics(over batches: [PretrainingBatch], statistics: ObjectiveStatistics) -> [String: Double] {
        ["perplexity": exp(statistics.mean("clm_loss") ?? .nan)]
    }
}
