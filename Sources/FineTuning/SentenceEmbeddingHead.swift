import Foundation
import Models

/// How the sentence-embedding head (``TaskModel/Head/sentenceEmbedding``) is trained
/// (`--set embedding_loss=…`), as sentence-transformers' losses of the same names.
public enum EmbeddingLoss: String, Sendable, CaseIterable, Codable {
    /// `CosineSimilarityLoss`: mean (cos(u, v) − label)² with the label in [0, 1] (1/0 for pairs
    /// with/without the positive label; regression values scaled by the training split's range).
    case cosine
    /// `MultipleNegativesRankingLoss`: positive pairs only; each first sentence must pick its own
    /// second sentence among the batch's, by a softmax over scale·cos(u_i, v_j).
    case ranking

    /// Row i of a sentence-embedding batch's pairs: the model sees the two sentences of pair i as
    /// rows 2i and 2i+1 (one batch, encoded separately), so u = even rows, v = odd rows.
    static func rows(pairs: Int, second: Bool) -> [Int32] { (0..<pairs).map { Int32(2 * $0 + (second ? 1 : 0)) } }

    /// embeddings (2P,H), pairs interleaved → cos(u_i, v_i) (P).
    public static func pairCosines(_ embeddings: Variable, tape: Tape) throws -> Variable {
        let pairs = embeddings.shape[0] / 2
        let u = try tape.gather(embeddings, indices: rows(pairs: pairs, second: false))
        let v = try tape.gather(embeddings, indices: rows(pairs: pairs, second: true))
        return tape.cosineSimilarity(u, v)
    }

    /// `CosineSimilarityLoss` (MSE, mean over pairs): cosines (P) against targets (P).
    public static func cosineLoss(cosines: Variable, targets: [Float], tape: Tape) -> Variable {
        precondition(targets.count == cosines.value.count, "cosineLoss: \(targets.count) targets for \(cosines.value.count) pairs")
        let diff = tape.add(cosines, Variable(constant: Tensor(targets.map { -$0 }, shape: cosines.shape)))
        return tape.mean(tape.multiply(diff, diff))
    }

    /// `MultipleNegativesRankingLoss`: embeddings (2P,H), pairs interleaved, every pair positive →
    /// mean over i of cross-entropy(scale·cos(u_i, v_·), i). The P×P cosines come from the
    /// row-wise cosine op on every (i, j) combination of rows (P²·H values: 0.4M for P = 32,
    /// H = 384), so the rule is the existing, tested one rather than a new normalise op.
    public static func rankingLoss(embeddings: Variable, scale: Float, tape: Tape) throws -> Variable {
        let pairs = embeddings.shape[0] / 2
        let firsts = (0..<pairs).flatMap { i in [Int32](repeating: Int32(2 * i), count: pairs) }
        let seconds = (0..<pairs).flatMap { _ in rows(pairs: pairs, second: true) }
        let all = tape.cosineSimilarity(try tape.gather(embeddings, indices: firsts), try tape.gather(embeddings, indices: seconds))
        let scores = tape.scale(tape.reshape(all, [pairs, pairs]), by: scale)
        return tape.crossEntropy(scores, targets: (0..<pairs).map { Int32($0) })
    }
}

/// What a sentence-embedding fine-tune records next to the model (`RUN_DIR/model/embedding_head.json`),
/// so `pretrain eval` scores the saved model as the run's dev evaluation did: the cosine threshold
/// chosen on dev (binary labels), and how labels became targets.
public struct EmbeddingHeadRecord: Codable, Sendable, Equatable {
    public static let fileName = "embedding_head.json"
    /// The task the threshold was chosen on (another task chooses its own on its dev split).
    public var task: String
    public var loss: EmbeddingLoss
    /// Pairs with cosine above this are predicted positive; nil for regression.
    public var threshold: Double?
    /// The label meaning "similar" (binary tasks).
    public var positiveLabel: String?
    /// The training split's [min, max] of regression values, mapped to [0, 1] for the cosine loss.
    public var labelRange: [Double]?

    enum CodingKeys: String, CodingKey {
        case task, loss, threshold, positiveLabel = "positive_label", labelRange = "label_range"
    }

    public init(task: String, loss: EmbeddingLoss, threshold: Double?, positiveLabel: String?, labelRange: [Double]?) {
        self.task = task; self.loss = loss; self.threshold = threshold; self.positiveLabel = positiveLabel; self.labelRange = labelRange
    }

    /// The record in a model folder, or nil when there is none (e.g. a sentence-transformers
    /// model that was never fine-tuned here).
    public static func load(folder: URL) throws -> EmbeddingHeadRecord? {
        let url = folder.appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        do { return try JSONDecoder().decode(EmbeddingHeadRecord.self, from: data) } catch {
            throw ModelError.invalidConfiguration("\(url.path) is not a valid embedding-head record: \(error)")
        }
    }

    public func save(folder: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: folder.appendingPathComponent(Self.fileName), options: .atomic)
    }
}

/// Why a fine-tuning setup cannot work; each message says what to change.
public enum FineTuningError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The sentence-embedding head needs two sentences per example.
    case noSentencePairs(task: String, reason: String)
    /// A classification task used as similarity needs to know which label means "similar".
    case noPositiveLabel(task: String, labels: [String])
    /// The ranking loss trains on positive pairs only.
    case noPositivePairs(task: String, reason: String)
    /// Multiple-choice examples of one task must have the same number of options.
    case unevenOptions(task: String, example: String, options: Int, expected: Int)
    /// A distillation teacher that does not fit the student or the task.
    case invalidTeacher(String)
    /// A setting that ranks holding parts of each batch cannot reproduce.
    case notDataParallel(String)
    /// A step's loss or gradient norm was not finite (`on_nonfinite=stop`).
    case nonFinite(step: Int, epoch: Int, loss: Double, gradientNorm: Double)

    public var description: String {
        switch self {
        case let .noSentencePairs(task, reason):
            return "task \(task): the sentence-embedding head (finetune --set head=embedding, or eval of a sentence-transformers folder) needs sentence pairs, i.e. a classification or regression task with a pair column; \(reason)"
        case let .noPositiveLabel(task, labels):
            return "task \(task): the sentence-embedding head needs the label that means \"similar\" among \(labels.joined(separator: ", ")); set positive_label in the task file"
        case let .noPositivePairs(task, reason):
            return "task \(task): --set embedding_loss=ranking trains on positive pairs only; \(reason)"
        case let .unevenOptions(task, example, options, expected):
            return "task \(task): example \(example) has \(options) options but the first has \(expected); give every example the same number of options (a batch scores one count)"
        case let .invalidTeacher(reason):
            return "--set teacher: \(reason)"
        case let .notDataParallel(reason):
            return "under mpirun: \(reason)"
        case let .nonFinite(step, epoch, loss, norm):
            return "step \(step) (epoch \(epoch)) gave loss \(loss) and gradient norm \(norm); the weights were not updated and the model saved after the best epoch so far (if any) is intact. Lower lr (or raise warmup_fraction) and run again; or --set on_nonfinite=skip to skip such steps."
        }
    }
}
