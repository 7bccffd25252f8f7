import Foundation
import Models
import Tasks

/// Task-specific distillation (Sanh et al. 2019, §4.2; transformers' `run_squad_w_distillation.py`):
/// a student fine-tunes on the task's labels and on a teacher fine-tuned on the same task,
///
///     loss = (1 − α) · task loss + α · τ² · KL(softmax(t/τ) ‖ softmax(s/τ))
///
/// with s, t the student's and teacher's task logits on the same batch: per example for
/// classification, pairs and multiple choice, per labelled token for tagging, per window for the
/// QA start and end logits (their mean), and (s − t)² for regression, which has no distribution.
/// The teacher runs in evaluation mode on a tape that records nothing.
public struct TaskDistillation {
    public let teacher: TaskModel
    public let temperature: Float
    public let alpha: Float

    public init(teacher: TaskModel, student: TaskModel, temperature: Float, alpha: Float) throws {
        guard teacher.head == student.head, teacher.head != .sentenceEmbedding else {
            throw FineTuningError.invalidTeacher("the teacher's head (\(teacher.head)) must be the student's (\(student.head)), and not the sentence-embedding head")
        }
        guard teacher.config.vocabSize == student.config.vocabSize else {
            throw FineTuningError.invalidTeacher("the teacher's vocabulary (\(teacher.config.vocabSize)) differs from the student's (\(student.config.vocabSize)): both must read the same tokenizer")
        }
        guard temperature > 0, temperature.isFinite, alpha >= 0, alpha <= 1 else {
            throw FineTuningError.invalidTeacher("distill_temperature must be positive and distill_alpha in [0, 1] (got \(temperature), \(alpha))")
        }
        (self.teacher, self.temperature, self.alpha) = (teacher, temperature, alpha)
    }

    /// The combined loss of a training batch and the soft-target term alone (unweighted).
    /// `labelledTokens`: for tagging, the flat positions (b·T + t) that carry a label.
    func loss(task: Variable, student logits: Variable, input: EncoderInput, choices: Int, kind: TaskKind,
              labelledTokens: [Int32], tape: Tape) throws -> (loss: Variable, soft: Double) {
        let frozen = Tape(recording: false)
        let t = try teacher(input, choices: choices, training: false, tape: frozen)
        guard t.shape == logits.shape else {
            throw FineTuningError.invalidTeacher("the teacher's logits have shape \(t.shape), the student's \(logits.shape): fine-tune the teacher on this task")
        }
        func kl(_ s: Variable, _ t: Variable) -> Variable {
            tape.klDivergence(student: s, teacher: Variable(constant: t.value), temperature: temperature)
        }
        let soft: Variable
        switch kind {
        case .sequenceClassification, .multipleChoice:
            soft = kl(logits, t)
        case .regression:
            let diff = tape.add(logits, Variable(constant: Tensor(t.value.scalars.map { -$0 }, shape: t.shape)))
            soft = tape.mean(tape.multiply(diff, diff))
        case .tokenClassification:
            let width = logits.shape.last ?? 1
            guard !labelledTokens.isEmpty else { return (task, 0) }
            soft = kl(try tape.gather(tape.reshape(logits, [-1, width]), indices: labelledTokens),
                      try frozen.gather(frozen.reshape(t, [-1, width]), indices: labelledTokens))
        case .questionAnswering:
            let (ss, se) = try QuestionAnsweringLogits.split(logits, input: input, tape: tape)
            let (ts, te) = try QuestionAnsweringLogits.split(t, input: input, tape: frozen)
            soft = tape.scale(tape.add(kl(ss, ts), kl(se, te)), by: 0.5)
        }
        let combined = tape.add(tape.scale(task, by: 1 - alpha), tape.scale(soft, by: alpha))
        return (combined, Double(soft.value.scalar))
    }
}

/// The QA head's (B,T,2) logits as start and end columns, each (B,T).
enum QuestionAnsweringLogits {
    static func split(_ logits: Variable, input: EncoderInput, tape: Tape) throws -> (starts: Variable, ends: Variable) {
        let n = input.batch * input.length
        let column = tape.reshape(logits, [2 * n, 1])
        let starts = tape.reshape(try tape.gather(column, indices: (0..<n).map { Int32(2 * $0) }), [input.batch, input.length])
        let ends = tape.reshape(try tape.gather(column, indices: (0..<n).map { Int32(2 * $0 + 1) }), [input.batch, input.length])
        return (starts, ends)
    }
}
