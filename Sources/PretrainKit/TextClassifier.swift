import FineTuning
import Foundation
import Models
import SafeTensors
import Tensors
import Tokenizers

/// A fine-tuned sequence classifier (a `…ForSequenceClassification` folder, e.g. what
/// `pretrain finetune` keeps in `RUN_DIR/model`): labels for texts or text pairs, or a score
/// when it was trained on a regression task (one output).
///
/// ```swift
/// let sentiment = try TextClassifier("runs/ft-sentiment/model")
/// let p = try sentiment.classify("A gripping, funny film.")
/// print(p.label, p.probabilities)
/// let same = try TextClassifier("runs/ft-paraphrase/model").classify("In the beginning…", pair: "At first…")
/// ```
public final class TextClassifier {
    public let model: TaskModel
    public let tokenizer: Tokenizer
    /// The labels in output order (config.json's `id2label`; `LABEL_i` when it has none).
    public let labels: [String]
    public let folder: URL

    /// What the classifier says of one input.
    public struct Prediction: Sendable, Equatable {
        /// The most likely label (empty for a regression model).
        public let label: String
        /// Each label's probability (empty for a regression model).
        public let probabilities: [String: Double]
        /// The most likely label's probability, or the regression value.
        public let score: Double
    }

    public init(folder: URL) throws {
        let (configURL, weightsURL) = try ModelFolder.files(in: folder)
        let file = try ConfigFile.load(from: configURL)
        guard let architecture = file.architectures.first, architecture.hasSuffix("ForSequenceClassification") else {
            throw ModelError.invalidConfiguration("\(folder.path) is a \(file.architectures.first ?? "model without architectures"), not a sequence classifier; fine-tune one with `pretrain finetune` (or FineTuneJob)")
        }
        let weights = try SafeTensorsFile(contentsOf: weightsURL)
        guard weights.names.contains("classifier.weight"), let outputs = try weights.info("classifier.weight").shape.first, outputs > 0 else {
            throw ModelError.missingAndUnexpectedKeys(missing: ["classifier.weight"], unexpected: [], file: weightsURL.path)
        }
        var names = (0..<outputs).map { "LABEL_\($0)" }
        if case let .object(map)? = file.extras["id2label"] {
            for (key, value) in map { if let i = Int(key), names.indices.contains(i), case let .string(name) = value { names[i] = name } }
        }
        labels = outputs == 1 ? [] : names
        model = try TaskModel.load(folder: folder, head: .sequenceClassification(labels: outputs), seed: 0, requiringHead: true)
        tokenizer = try TextModel.tokenizer(in: folder, vocabSize: model.config.vocabSize)
        self.folder = folder
    }

    public convenience init(_ path: String) throws { try self.init(folder: URL(fileURLWithPath: path)) }

    /// The prediction for `text` (and its second sentence `pair`).
    public func classify(_ text: String, pair: String? = nil) throws -> Prediction {
        try classify([(text, pair)])[0]
    }

    /// Predictions for many inputs, `batchSize` per forward pass.
    public func classify(_ inputs: [(text: String, pair: String?)], batchSize: Int = 32) throws -> [Prediction] {
        let maxLength = model.config.maxPositions - model.config.positionOffset
        let outputs = max(1, labels.count)
        var out: [Prediction] = []
        for start in stride(from: 0, to: inputs.count, by: max(1, batchSize)) {
            let chunk = inputs[start..<min(inputs.count, start + max(1, batchSize))]
            let encodings = try chunk.map { try tokenizer.encode($0.text, pair: $0.pair, truncation: .some(TruncationParams(maxLength: maxLength)), padding: .some(nil)) }
            let input = EncoderInput(padding: encodings, with: Int32(model.config.padTokenId))
            let logits = try model(input, training: false, tape: Tape(recording: false)).value
            for b in 0..<encodings.count {
                let row = (0..<outputs).map { Double(logits.data[b * outputs + $0]) }
                guard !labels.isEmpty else {
                    out.append(Prediction(label: "", probabilities: [:], score: row[0]))
                    continue
                }
                let largest = row.max() ?? 0
                let exps = row.map { exp($0 - largest) }
                let total = exps.reduce(0, +)
                let best = row.indices.max { row[$0] < row[$1] } ?? 0
                out.append(Prediction(label: labels[best], probabilities: Dictionary(zip(labels, exps.map { $0 / total }), uniquingKeysWith: +),
                                      score: exps[best] / total))
            }
        }
        return out
    }
}
