import Foundation
import Models

/// DistilBERT's pretraining objective (Sanh et al. 2019, §2–3; transformers'
/// `examples/research_projects/distillation/distiller.py`): a student learns from a frozen
/// teacher's masked-LM distribution on the same masked input.
///
///     loss = α_ce · τ² · KL(softmax(t/τ) ‖ softmax(s/τ))   per row, mean over the soft rows
///          + α_mlm · CE(s, label)                           mean over the masked positions
///          + α_cos · (1 − cos(h_s, h_t))                     mean over the non-pad tokens
///
/// s, t are the student's and teacher's MLM logits, h their last hidden states. The soft rows are
/// every non-pad token (the reference's default) or the masked positions only
/// (`distill_positions=masked`, its `--restrict_ce_to_mask`). The teacher runs in evaluation
/// mode (no dropout) on a tape that records nothing: its parameters are not trained, not in the
/// optimizer and not in the checkpoint.
///
/// Metrics: `distill_ce_loss` (τ²·KL, unweighted), `mlm_loss`, `mlm_accuracy`, `cos_loss`,
/// `teacher_agreement` (student top-1 = teacher top-1 on the masked positions),
/// `teacher_mlm_accuracy`; held out also `perplexity`.
public final class KnowledgeDistillation: PretrainingObjective {
    /// Which rows the soft-target loss covers.
    public enum SoftTargetRows: String, Codable, Sendable, CaseIterable {
        case all, masked
    }

    public struct Weights: Sendable, Equatable {
        public var softTargets: Float, maskedLM: Float, cosine: Float
        public init(softTargets: Float = 5, maskedLM: Float = 2, cosine: Float = 1) {
            (self.softTargets, self.maskedLM, self.cosine) = (softTargets, maskedLM, cosine)
        }
    }

    public let name = ObjectiveKind.distillation.rawValue
    public let teacher: PretrainingModel
    public let student: PretrainingModel
    let studentHead: MaskedLMHead
    let teacherHead: MaskedLMHead
    public let temperature: Float
    public let weights: Weights
    public let softRows: SoftTargetRows

    public init(teacher: PretrainingModel, student: PretrainingModel, temperature: Float = 2, weights: Weights = Weights(),
                softRows: SoftTargetRows = .all) throws {
        guard let teacherHead = teacher.maskedLM else {
            throw ModelError.invalidConfiguration("the teacher has no masked-LM head; distillation needs a …ForMaskedLM model folder (e.g. a run's model/)")
        }
        guard let studentHead = student.maskedLM else { throw ModelError.invalidConfiguration("the student needs a masked-LM head") }
        guard teacher.config.vocabSize == student.config.vocabSize, teacher.config.hiddenSize == student.config.hiddenSize else {
            throw ModelError.invalidConfiguration("teacher (vocab \(teacher.config.vocabSize), width \(teacher.config.hiddenSize)) and student (vocab \(student.config.vocabSize), width \(student.config.hiddenSize)) must share the vocabulary and the hidden width (the cosine loss compares hidden states)")
        }
        guard temperature > 0, [weights.softTargets, weights.maskedLM, weights.cosine].allSatisfy({ $0 >= 0 && $0.isFinite }) else {
            throw ModelError.invalidConfiguration("distillation needs a positive temperature and weights ≥ 0")
        }
        (self.teacher, self.student, self.teacherHead, self.studentHead) = (teacher, student, teacherHead, studentHead)
        (self.temperature, self.weights, self.softRows) = (temperature, weights, softRows)
    }

    /// The student's head; the student's encoder is the run's shared model.
    public var parameters: [Parameter] { studentHead.parameters }

    /// Flat positions of the non-pad tokens (every row the losses read).
    static func tokenPositions(_ batch: PretrainingBatch) -> [Int32] {
        guard let mask = batch.input.attentionMask else { return (0..<Int32(batch.input.ids.count)).map { $0 } }
        return mask.indices.compactMap { mask[$0] > 0 ? Int32($0) : nil }
    }

    public func rowsRead(in batch: PretrainingBatch) -> [Int32] { Self.tokenPositions(batch) }

    /// [non-pad tokens, masked positions].
    public func normalizerCounts(in batch: PretrainingBatch) -> [Int] { [batch.tokenCount, batch.predictionCount] }

    public func loss(_ pass: ForwardPass, normalizers: [Int], statistics: inout ObjectiveStatistics) throws -> Variable? {
        let batch = pass.batch, tape = pass.tape
        let tokens = Self.tokenPositions(batch)
        guard !tokens.isEmpty else { return nil }
        let out = try pass.encoderOutput()
        let frozen = Tape(recording: false)
        let teacherOut = try teacher.encoder(batch.input, training: false, tape: frozen, readingOnly: tokens)
        let (studentRows, teacherRows) = (out.rows(at: tokens), teacherOut.rows(at: tokens))
        let s = try studentHead(out.hidden, positions: studentRows, tape: tape)                       // (N,V)
        let t = try teacherHead(teacherOut.hidden, positions: teacherRows, tape: frozen)              // (N,V), constant
        let (tokenTotal, maskedTotal) = (Float(max(1, normalizers[0])), Float(max(1, normalizers[1])))

        // Row i of s/t is token tokens[i]: the rows of the masked positions and their labels.
        var rowOf: [Int32: Int32] = [:]
        for (i, p) in tokens.enumerated() { rowOf[p] = Int32(i) }
        var maskedRows: [Int32] = [], targets: [Int32] = []
        for (p, y) in zip(batch.positions, batch.labels) where y != PretrainingBatch.ignoredLabel {
            guard let i = rowOf[p] else { continue }
            maskedRows.append(i)
            targets.append(y)
        }

        var total: Variable?
        func add(_ term: Variable) { total = total.map { tape.add($0, term) } ?? term }
        // Soft targets: τ²·Σ KL / rows, weighted.
        let (softS, softT, softTotal) = softRows == .all
            ? (s, t, tokenTotal)
            : (try tape.gather(s, indices: maskedRows), try frozen.gather(t, indices: maskedRows), maskedTotal)
        if softS.value.rowCount > 0 {
            let kl = tape.klDivergence(student: softS, teacher: Variable(constant: softT.value), temperature: temperature, normalizer: softTotal)
            statistics.add("distill_ce_loss", Double(kl.value.scalar * softTotal), over: softS.value.rowCount)
            if weights.softTargets > 0 { add(tape.scale(kl, by: weights.softTargets)) }
        }
        // Hard targets: the MLM cross-entropy on the masked rows (gathered: an (N,V) gradient
        // for 15 % of its rows would cost 500 MB at BERT's vocabulary and 4096 tokens).
        if !maskedRows.isEmpty {
            let (sMasked, tMasked) = (try tape.gather(s, indices: maskedRows), try frozen.gather(t, indices: maskedRows))
            let ce = tape.crossEntropy(sMasked, targets: targets, normalizer: maskedTotal)
            statistics.add("mlm_loss", Double(ce.value.scalar * maskedTotal), over: maskedRows.count)
            statistics.add("mlm_accuracy", Double(correctCount(sMasked.value, targets)), over: maskedRows.count)
            statistics.add("teacher_mlm_accuracy", Double(correctCount(tMasked.value, targets)), over: maskedRows.count)
            let teacherTop = argmaxOfEachRow(tMasked.value)
            statistics.add("teacher_agreement", Double(correctCount(sMasked.value, teacherTop)), over: maskedRows.count)
            if weights.maskedLM > 0 { add(tape.scale(ce, by: weights.maskedLM)) }
        }
        // Hidden states: α_cos · Σ(1 − cos) / tokens, as Σcos scaled plus a constant.
        let hs = try tape.gather(tape.reshape(out.hidden, [-1, student.config.hiddenSize]), indices: studentRows)
        let ht = try frozen.gather(frozen.reshape(teacherOut.hidden, [-1, teacher.config.hiddenSize]), indices: teacherRows)
        let cos = tape.cosineSimilarity(hs, Variable(constant: ht.value))
        let cosSum = Double(cos.value.scalars.reduce(0, +))
        statistics.add("cos_loss", Double(tokens.count) - cosSum, over: tokens.count)
        if weights.cosine > 0 {
            let w = weights.cosine / tokenTotal
            add(tape.add(tape.scale(tape.sum(cos), by: -w), Variable(constant: Tensor(scalar: w * Float(tokens.count)))))
        }
        return total
    }

    /// The student's head over every non-pad token (the encoder is the shared model's).
    public func forwardFLOPs(of batch: PretrainingBatch) -> Double { studentHead.forwardFLOPs(rows: batch.tokenCount) }

    public func evaluationMetrics(over batches: [PretrainingBatch], statistics: ObjectiveStatistics) -> [String: Double] {
        ["perplexity": exp(statistics.mean("mlm_loss") ?? .nan)]
    }
}

/// The argmax column of each row of `logits` (N,C).
func argmaxOfEachRow(_ logits: Tensor) -> [Int32] {
    let c = logits.lastDimension
    return (0..<logits.rowCount).map { r in
        let row = logits.data + r * c
        var best = 0
        for j in 1..<c where row[j] > row[best] { best = j }
        return Int32(best)
    }
}
