import Foundation
import Models
import Tasks
import Tokenizers
import Training

/// One model input: token ids and segments (several rows for multiple choice), and its target.
struct Feature {
    var ids: [[Int32]]
    var types: [[Int32]]
    /// Class index (classification, multiple choice), or per-token labels (tagging, −100 = ignored),
    /// or [start, end] (QA).
    var targets: [Int32]
    /// The regression target, or the sentence-embedding head's cosine target in [0, 1].
    var value: Float = 0
    /// The example this feature belongs to (QA has several windows per example).
    var example: Int
}

/// A task split as model inputs: tokenized, truncated or windowed (QA), with targets.
extension FineTuner {
    func features(_ split: TaskSplit) throws -> [Feature] {
        if model.head == .sentenceEmbedding { return try embeddingFeatures(split) }
        let truncation = TruncationParams(maxLength: settings.maxLength)
        let labelIndex = Dictionary(task.labels.enumerated().map { ($0.element, Int32($0.offset)) }, uniquingKeysWith: { a, _ in a })
        switch task.examples(split) {
        case .classification(let examples):
            return try examples.enumerated().map { (i, e) in
                let enc = try tokenizer.encode(e.text, pair: e.pair, truncation: .some(truncation), padding: .some(nil))
                var f = Feature(ids: [enc.ids.map(Int32.init)], types: [enc.typeIDs.map(Int32.init)], targets: [], example: i)
                if let v = e.label.value {
                    f.value = Float(v)
                } else {
                    guard let index = labelIndex[e.label.category ?? ""] else {
                        throw TaskDataError.invalidArgument("\(task.name) \(split.rawValue) example \(i + 1) has label '\(e.label.category ?? "")', which the training split never uses (labels: \(task.labels.joined(separator: ", ")))")
                    }
                    f.targets = [index]
                }
                return f
            }
        case .tagging(let examples):
            return try examples.enumerated().map { (i, e) in
                let (enc, words) = try TokenClassification.encode(words: e.words, tokenizer: tokenizer, maxLength: settings.maxLength)
                let tags = try e.tags.map { tag -> Int in
                    guard let index = labelIndex[tag] else {
                        throw TaskDataError.invalidArgument("\(task.name) \(split.rawValue) example \(i + 1) has tag '\(tag)', which the training split never uses")
                    }
                    return Int(index)
                }
                let labels = TokenClassification.alignLabels(wordIndices: words, wordLabels: tags)
                return Feature(ids: [enc.ids.map(Int32.init)], types: [enc.typeIDs.map(Int32.init)], targets: labels.map(Int32.init), example: i)
            }
        case .multipleChoice(let examples):
            // Rows of a batch are (example, option) pairs scored as (B, C): one C per task.
            if let first = examples.first, let uneven = examples.first(where: { $0.options.count != first.options.count }) {
                throw FineTuningError.unevenOptions(task: task.name, example: uneven.id, options: uneven.options.count, expected: first.options.count)
            }
            return try examples.enumerated().map { (i, e) in
                var f = Feature(ids: [], types: [], targets: [Int32(e.label)], example: i)
                for option in e.options {
                    let second = e.question.isEmpty ? option : e.question + " " + option
                    let enc = try tokenizer.encode(e.context, pair: second, truncation: .some(truncation), padding: .some(nil))
                    f.ids.append(enc.ids.map(Int32.init))
                    f.types.append(enc.typeIDs.map(Int32.init))
                }
                return f
            }
        case .questionAnswering(let examples):
            let w = try QuestionAnswering.windows(for: examples, tokenizer: tokenizer, maxLength: settings.qaMaxLength, stride: settings.docStride)
            windows[split] = w
            return w.map { Feature(ids: [$0.encoding.ids.map(Int32.init)], types: [$0.encoding.typeIDs.map(Int32.init)],
                                   targets: [Int32($0.startPosition), Int32($0.endPosition)], example: $0.exampleIndex) }
        }
    }

    /// The training split's range of regression values, which the cosine loss maps onto [0, 1].
    func labelRange() throws -> (low: Double, high: Double) {
        let values = (task.train.classification ?? []).compactMap(\.label.value)
        guard let low = values.min(), let high = values.max(), high > low else {
            throw TaskDataError.invalidArgument("\(task.name): the training split's regression values are all equal (or missing); cosine targets need a range")
        }
        return (low, high)
    }

    /// Sentence-embedding features: the two texts of a pair as two rows, each encoded on its
    /// own (no pair template), and the cosine loss's target. The ranking loss trains on the
    /// positive pairs only; evaluation always scores every pair.
    func embeddingFeatures(_ split: TaskSplit) throws -> [Feature] {
        try Self.validateEmbeddingTask(task, loss: settings.embeddingLoss, positiveLabel: positiveLabel)
        let truncation = TruncationParams(maxLength: settings.maxLength)
        let range = task.kind == .regression ? try labelRange() : nil
        var out: [Feature] = []
        for (i, e) in (task.examples(split).classification ?? []).enumerated() {
            let target: Float
            if let range { target = Float(((e.label.value ?? range.low) - range.low) / (range.high - range.low)) }
            else { target = e.label.category == positiveLabel ? 1 : 0 }
            if split == .train && settings.embeddingLoss == .ranking && target != 1 { continue }
            let a = try tokenizer.encode(e.text, truncation: .some(truncation), padding: .some(nil))
            let b = try tokenizer.encode(e.pair ?? "", truncation: .some(truncation), padding: .some(nil))
            out.append(Feature(ids: [a.ids.map(Int32.init), b.ids.map(Int32.init)], types: [a.typeIDs.map(Int32.init), b.typeIDs.map(Int32.init)],
                               targets: [], value: target, example: i))
        }
        if split == .train && out.isEmpty {
            throw FineTuningError.noPositivePairs(task: task.name, reason: "the training split has no pair labelled \(positiveLabel ?? "positive")")
        }
        return out
    }

    /// Pads a batch of features (every row of multiple-choice features) to its longest row.
    func input(_ batch: ArraySlice<Feature>) -> (EncoderInput, choices: Int) {
        let rows = batch.flatMap { zip($0.ids, $0.types).map { ($0, $1) } }
        // Rounded up to a multiple of 16 so batches share buffer sizes (the pool reuses them
        // instead of faulting in fresh pages every step).
        let length = min(((rows.map(\.0.count).max() ?? 1) + 15) / 16 * 16, model.config.maxPositions)
        var ids = [Int32](repeating: padID, count: rows.count * length)
        var types = [Int32](repeating: 0, count: rows.count * length)
        var mask = [Float](repeating: 0, count: rows.count * length)
        for (r, (rowIDs, rowTypes)) in rows.enumerated() {
            // Features are built within the model's positions (see init); never write past a row.
            for t in 0..<min(rowIDs.count, length) {
                ids[r * length + t] = rowIDs[t]
                types[r * length + t] = rowTypes[t]
                mask[r * length + t] = 1
            }
        }
        return (EncoderInput(ids: ids, tokenTypes: types, attentionMask: mask, batch: rows.count, length: length),
                batch.first?.ids.count ?? 1)
    }
}
