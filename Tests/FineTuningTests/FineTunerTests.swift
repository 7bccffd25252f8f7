import XCTest
import Foundation
import Models
import Tasks
import Tokenizers
import Training
@testable import FineTuning

/// The fine-tuning loop learns small synthetic tasks of every shape from a random tiny encoder.
final class FineTunerTests: XCTestCase {
    static let words = ["good", "great", "fine", "bad", "awful", "poor", "the", "movie", "was", "a", "plot", "and", "very", "it"]

    func tokenizer() throws -> Tokenizer {
        try Tokenizer.bert(vocabTxt: (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + Self.words).joined(separator: "\n"))
    }

    func model(head: TaskModel.Head, hidden: Int = 16) throws -> TaskModel {
        let config = EncoderConfiguration(vocabSize: 19, hiddenSize: hidden, layers: 2, heads: 2, intermediateSize: 2 * hidden,
                                          hiddenDropout: 0, attentionDropout: 0, maxPositions: 64)
        return try TaskModel(config: config, head: head, seed: 3)
    }

    func temporaryFolder() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ft-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Sentences of filler words with one sentiment word; the label is that word's polarity.
    func sentimentExamples(_ n: Int, seed: UInt64) -> [TextClassificationExample] {
        var rng = RandomGenerator(seed: seed)
        let filler = Array(Self.words[6...])
        return (0..<n).map { _ in
            let positive = rng.bernoulli(0.5)
            let cue = positive ? ["good", "great", "fine"][rng.integer(below: 3)] : ["bad", "awful", "poor"][rng.integer(below: 3)]
            var sentence = (0..<5).map { _ in filler[rng.integer(below: filler.count)] }
            sentence.insert(cue, at: rng.integer(below: 6))
            return TextClassificationExample(text: sentence.joined(separator: " "), label: .category(positive ? "positive" : "negative"))
        }
    }

    /// Tagging: sentiment words are ADJ, the rest X.
    func taggedExamples(_ rng: inout RandomGenerator) -> [TokenTaggingExample] {
        (0..<160).map { _ in
            let words = (0..<6).map { _ in Self.words[rng.integer(below: Self.words.count)] }
            return TokenTaggingExample(words: words, tags: words.map { Self.words.firstIndex(of: $0)! < 6 ? "ADJ" : "X" })
        }
    }

    /// QA: the answer is the sentiment word in the context.
    func questionExamples(_ rng: inout RandomGenerator) -> [QuestionAnsweringExample] {
        (0..<160).map { i in
            let cue = Self.words[rng.integer(below: 6)]
            let context = "the movie was very \(cue) and the plot was a movie"
            let start = context.unicodeScalars.count - "\(cue) and the plot was a movie".unicodeScalars.count
            return QuestionAnsweringExample(id: "\(i)", question: "movie", context: context, answers: [QuestionAnswer(text: cue, characterStart: start)])
        }
    }

    func testClassificationLearnsAndKeepsTheBestEpoch() throws {
        let task = TaskData(name: "toy", kind: .sequenceClassification, labels: ["negative", "positive"],
                            train: .classification(sentimentExamples(256, seed: 1)), dev: .classification(sentimentExamples(64, seed: 2)),
                            test: .classification(sentimentExamples(64, seed: 3)))
        var settings = FineTuneSettings()
        settings.epochs = 4
        settings.lr = 2e-3
        settings.batchSize = 16
        let run = temporaryFolder()
        let tuner = FineTuner(task: task, model: try model(head: FineTuner.head(for: task), hidden: 32), tokenizer: try tokenizer(),
                              settings: settings, runFolder: run, positiveLabel: "positive")
        tuner.report = { _ in }
        let best = try tuner.train()
        XCTAssertGreaterThan(best["accuracy"]!, 0.9, "\(best)")
        // The saved best model reloads with its head and scores the same on dev.
        let reloaded = try TaskModel.load(folder: run.appendingPathComponent("model"), head: .sequenceClassification(labels: 2), seed: 0)
        let again = FineTuner(task: task, model: reloaded, tokenizer: try tokenizer(), settings: settings, runFolder: run, positiveLabel: "positive")
        XCTAssertEqual(try again.evaluate(split: .dev)["accuracy"]!, best["accuracy"]!, accuracy: 1e-9)
        // One line per step (the training loss), one per epoch (dev).
        let lines = MetricsLog.read(run.appendingPathComponent("metrics.jsonl"))
        XCTAssertEqual(lines.filter { $0["split"] as? String == "dev" }.count, 4)
        let steps = lines.filter { $0["split"] as? String == "train" }.compactMap { $0["step"] as? Int }
        XCTAssertEqual(steps, Array(1...(4 * ((task.train.count + 15) / 16))))
    }

    func testANonFiniteLossStopsFineTuningBeforeTheUpdateOrIsSkipped() throws {
        let task = TaskData(name: "toy", kind: .sequenceClassification, labels: ["negative", "positive"],
                            train: .classification(sentimentExamples(64, seed: 1)), dev: .classification(sentimentExamples(32, seed: 2)),
                            test: .classification(sentimentExamples(32, seed: 3)))
        var settings = FineTuneSettings()
        // lr 1e8: the first update throws the weights so far that a later step's loss is not finite.
        (settings.epochs, settings.lr, settings.batchSize, settings.warmupFraction) = (2, 1e8, 16, 0)
        let run = temporaryFolder()
        let model = try model(head: FineTuner.head(for: task))
        let tuner = FineTuner(task: task, model: model, tokenizer: try tokenizer(), settings: settings, runFolder: run, positiveLabel: "positive")
        tuner.report = { _ in }
        XCTAssertThrowsError(try tuner.train()) { error in
            guard case FineTuningError.nonFinite(let step, _, let loss, let norm)? = error as? FineTuningError else { return XCTFail("\(error)") }
            XCTAssertGreaterThan(step, 1)
            XCTAssertFalse(loss.isFinite && norm.isFinite, "\(loss) \(norm)")
            XCTAssertTrue("\(error)".contains("on_nonfinite=skip"), "\(error)")
        }
        XCTAssertTrue(model.trainableParameters.allSatisfy { $0.value.firstNonFiniteIndex == nil }, "no NaN reached the weights")
        // Skipping: the run finishes, the bad steps are said and leave the weights alone.
        settings.onNonfinite = .skip
        let skipping = FineTuner(task: task, model: try self.model(head: FineTuner.head(for: task)), tokenizer: try tokenizer(),
                                 settings: settings, runFolder: temporaryFolder(), positiveLabel: "positive")
        var warnings: [String] = []
        skipping.report = { if $0.hasPrefix("warning:") { warnings.append($0) } }
        _ = try skipping.train()
        XCTAssertFalse(warnings.isEmpty)
        XCTAssertTrue(skipping.model.trainableParameters.allSatisfy { $0.value.firstNonFiniteIndex == nil })
        var parsed = FineTuneSettings()
        try parsed.apply(["on_nonfinite=skip"])
        XCTAssertEqual(parsed.onNonfinite, .skip)
        XCTAssertThrowsError(try parsed.apply(["on_nonfinite=ignore"]))
    }

    func testTaggingMultipleChoiceAndQuestionAnsweringLearn() throws {
        var rng = RandomGenerator(seed: 5)
        let tagged = taggedExamples(&rng)
        // Multiple choice: the option that repeats the context's sentiment word.
        let choices = (0..<160).map { i -> MultipleChoiceExample in
            let cue = Self.words[rng.integer(below: 6)]
            var options = Self.words[0..<6].filter { $0 != cue }.shuffled(using: &rng).prefix(3).map { $0 }
            let label = rng.integer(below: 4)
            options.insert(cue, at: label)
            return MultipleChoiceExample(id: "\(i)", context: "the movie was \(cue)", question: "", options: options, label: label)
        }
        let questions = questionExamples(&rng)
        let tasks: [(TaskData, String, Double, Int)] = [
            (TaskData(name: "tags", kind: .tokenClassification, labels: ["ADJ", "X"], train: .tagging(Array(tagged[..<128])),
                      dev: .tagging(Array(tagged[128...])), test: .tagging(Array(tagged[128...]))), "token_accuracy", 0.95, 3),
            (TaskData(name: "mc", kind: .multipleChoice, labels: [], train: .multipleChoice(Array(choices[..<128])),
                      dev: .multipleChoice(Array(choices[128...])), test: .multipleChoice(Array(choices[128...]))), "accuracy", 0.5, 10),
            (TaskData(name: "qa", kind: .questionAnswering, labels: [], train: .questionAnswering(Array(questions[..<128])),
                      dev: .questionAnswering(Array(questions[128...])), test: .questionAnswering(Array(questions[128...]))), "exact_match", 60, 6),
        ]
        for (task, metric, threshold, epochs) in tasks {
            var settings = FineTuneSettings()
            settings.epochs = epochs
            settings.lr = 3e-3
            settings.batchSize = 16
            let tuner = FineTuner(task: task, model: try model(head: FineTuner.head(for: task)), tokenizer: try tokenizer(), settings: settings,
                                  runFolder: temporaryFolder(), positiveLabel: nil)
            tuner.report = { _ in }
            let best = try tuner.train()
            XCTAssertGreaterThan(best[metric]!, threshold, "\(task.name): \(best)")
        }
    }

    /// Task-specific distillation with α = 1 trains on the teacher's logits alone — no label
    /// reaches the student — and still learns each task shape; the teacher never changes.
    func testTaskDistillationTeachesWithoutLabels() throws {
        var rng = RandomGenerator(seed: 9)
        let (tagged, questions) = (taggedExamples(&rng), questionExamples(&rng))
        let tasks: [(TaskData, String, Double, Int)] = [
            (TaskData(name: "toy", kind: .sequenceClassification, labels: ["negative", "positive"],
                      train: .classification(sentimentExamples(256, seed: 1)), dev: .classification(sentimentExamples(64, seed: 2)),
                      test: .classification(sentimentExamples(64, seed: 3))), "accuracy", 0.85, 4),
            (TaskData(name: "tags", kind: .tokenClassification, labels: ["ADJ", "X"], train: .tagging(Array(tagged[..<128])),
                      dev: .tagging(Array(tagged[128...])), test: .tagging(Array(tagged[128...]))), "token_accuracy", 0.9, 3),
            (TaskData(name: "qa", kind: .questionAnswering, labels: [], train: .questionAnswering(Array(questions[..<128])),
                      dev: .questionAnswering(Array(questions[128...])), test: .questionAnswering(Array(questions[128...]))), "exact_match", 50, 6),
        ]
        for (task, metric, threshold, epochs) in tasks {
            var settings = FineTuneSettings()
            (settings.epochs, settings.lr, settings.batchSize) = (epochs, 3e-3, 16)
            let teacherRun = temporaryFolder()
            var teacherSettings = settings
            teacherSettings.epochs = 2 * epochs
            let teacherTuner = FineTuner(task: task, model: try model(head: FineTuner.head(for: task), hidden: 32), tokenizer: try tokenizer(),
                                         settings: teacherSettings, runFolder: teacherRun, positiveLabel: nil)
            teacherTuner.report = { _ in }
            _ = try teacherTuner.train()
            // The last epoch's weights (the best dev epoch can be the first to score 1.0, right by thin margins).
            let teacherFolder = teacherRun.appendingPathComponent("final")
            try teacherTuner.model.save(folder: teacherFolder, labels: task.labels)
            let teacher = try TaskModel.load(folder: teacherFolder, head: FineTuner.head(for: task), seed: 0, requiringHead: true)
            let teacherWeights = teacher.parameters.map(\.value.scalars)
            let student = try model(head: FineTuner.head(for: task), hidden: 24)
            settings.distillAlpha = 1
            let tuner = FineTuner(task: task, model: student, tokenizer: try tokenizer(), settings: settings, runFolder: temporaryFolder(), positiveLabel: nil)
            // τ = 1: the toy teachers are right with small margins, which τ = 2 would flatten further.
            tuner.distillation = try TaskDistillation(teacher: teacher, student: student, temperature: 1, alpha: 1)
            tuner.report = { _ in }
            let best = try tuner.train()
            XCTAssertGreaterThan(best[metric]!, threshold, "\(task.name): \(best)")
            XCTAssertNotNil(best["train_soft_loss"], task.name)
            XCTAssertEqual(teacher.parameters.map(\.value.scalars), teacherWeights, "\(task.name): the teacher never changes")
        }
    }

    /// The soft-target term by hand (Float64): τ²·mean over examples of KL(softmax(t/τ) ‖ softmax(s/τ)),
    /// mixed with the task loss as (1 − α)·task + α·soft; a teacher with another head is refused.
    func testSoftTargetLossByHand() throws {
        let task = TaskData(name: "toy", kind: .sequenceClassification, labels: ["negative", "positive"],
                            train: .classification(sentimentExamples(8, seed: 4)), dev: .classification(sentimentExamples(8, seed: 5)),
                            test: .classification(sentimentExamples(8, seed: 6)))
        let (student, teacher) = (try model(head: .sequenceClassification(labels: 2)), try model(head: .sequenceClassification(labels: 2), hidden: 32))
        for p in teacher.output!.parameters { for i in 0..<p.value.count { p.value.data[i] = 4 * (Float(i % 5) - 2) } }  // sharp teacher logits
        let tuner = FineTuner(task: task, model: student, tokenizer: try tokenizer(), settings: FineTuneSettings(), runFolder: temporaryFolder(), positiveLabel: nil)
        tuner.distillation = try TaskDistillation(teacher: teacher, student: student, temperature: 3, alpha: 0.3)
        let batch = ArraySlice(try tuner.features(.train))
        let (combined, input, soft) = try tuner.trainingLoss(batch, tape: Tape(recording: false))
        let (taskLoss, logits, _) = try tuner.loss(batch, training: false, tape: Tape(recording: false))
        let t = try teacher(input, training: false, tape: Tape(recording: false)).value
        var expected = 0.0
        for r in 0..<logits.value.rowCount {
            let s = (0..<2).map { Double(logits.value.data[r * 2 + $0]) / 3 }, q = (0..<2).map { Double(t.data[r * 2 + $0]) / 3 }
            let ls = log(s.map(exp).reduce(0, +)), lq = log(q.map(exp).reduce(0, +))
            expected += zip(s, q).reduce(0) { $0 + exp($1.1 - lq) * (($1.1 - lq) - ($1.0 - ls)) }
        }
        expected *= 9 / Double(logits.value.rowCount)
        XCTAssertGreaterThan(expected, 0.05, "a real KL")
        XCTAssertEqual(try XCTUnwrap(soft), expected, accuracy: 1e-4 * expected)
        XCTAssertEqual(Double(combined.value.scalar), 0.7 * Double(taskLoss.value.scalar) + 0.3 * expected, accuracy: 1e-5)
        XCTAssertThrowsError(try TaskDistillation(teacher: try model(head: .sequenceClassification(labels: 3)), student: student, temperature: 2, alpha: 0.5)) {
            XCTAssertTrue("\($0)".contains("must be the student's"), "\($0)")
        }
    }

    /// Examples longer than the model's positions are truncated (QA: windowed) to them — rows used
    /// to be written past each other when max_length exceeded max_position_embeddings.
    func testExamplesLongerThanTheModelAreCutToItsPositions() throws {
        let long = (0..<150).map { Self.words[$0 % Self.words.count] }
        let tagging = TokenTaggingExample(words: long, tags: long.map { _ in "X" })
        let text = TextClassificationExample(text: long.joined(separator: " "), label: .category("positive"))
        let choice = MultipleChoiceExample(id: "0", context: long.joined(separator: " "), question: "", options: ["good", "bad"], label: 0)
        let context = long.joined(separator: " ")
        let qa = QuestionAnsweringExample(id: "0", question: "movie", context: context,
                                          answers: [QuestionAnswer(text: "good", characterStart: 0)])
        let tasks = [
            TaskData(name: "tags", kind: .tokenClassification, labels: ["X"], train: .tagging([tagging]), dev: .tagging([tagging]), test: .tagging([tagging])),
            TaskData(name: "cls", kind: .sequenceClassification, labels: ["negative", "positive"], train: .classification([text]),
                     dev: .classification([text]), test: .classification([text])),
            TaskData(name: "mc", kind: .multipleChoice, labels: [], train: .multipleChoice([choice]), dev: .multipleChoice([choice]),
                     test: .multipleChoice([choice])),
            TaskData(name: "qa", kind: .questionAnswering, labels: [], train: .questionAnswering([qa]), dev: .questionAnswering([qa]),
                     test: .questionAnswering([qa])),
        ]
        for task in tasks {
            var settings = FineTuneSettings()
            (settings.epochs, settings.maxLength, settings.qaMaxLength, settings.docStride) = (1, 128, 192, 16)
            let tuner = FineTuner(task: task, model: try model(head: FineTuner.head(for: task)), tokenizer: try tokenizer(), settings: settings,
                                  runFolder: temporaryFolder(), positiveLabel: nil)
            var messages: [String] = []
            tuner.report = { messages.append($0) }
            XCTAssertEqual(tuner.settings.maxLength, 64, task.name)
            XCTAssertEqual(tuner.settings.qaMaxLength, 64, task.name)
            XCTAssertTrue(try tuner.features(.train).allSatisfy { $0.ids.allSatisfy { $0.count <= 64 } }, task.name)
            _ = try tuner.train()
            XCTAssertTrue(messages.contains { $0.contains("the model has 64 positions: max_length 128 → 64") }, "\(task.name): \(messages)")
        }
    }

    /// Examples with different numbers of options cannot share a (B, C) batch: a named error.
    func testUnevenMultipleChoiceOptionsAreANamedError() throws {
        let a = MultipleChoiceExample(id: "a", context: "the movie", question: "", options: ["good", "bad"], label: 0)
        let b = MultipleChoiceExample(id: "b", context: "the plot", question: "", options: ["good", "bad", "fine"], label: 2)
        let task = TaskData(name: "mc", kind: .multipleChoice, labels: [], train: .multipleChoice([a, b]), dev: .multipleChoice([a]),
                            test: .multipleChoice([a]))
        let tuner = FineTuner(task: task, model: try model(head: .multipleChoice), tokenizer: try tokenizer(), settings: FineTuneSettings(),
                              runFolder: temporaryFolder(), positiveLabel: nil)
        XCTAssertThrowsError(try tuner.features(.train)) { error in
            XCTAssertEqual(error as? FineTuningError, .unevenOptions(task: "mc", example: "b", options: 3, expected: 2))
        }
    }

    func testLayerwiseDecayScalesLearningRatesByDepth() throws {
        var settings = FineTuneSettings()
        settings.layerDecay = 0.8
        let model = try model(head: .sequenceClassification(labels: 2))
        let task = TaskData(name: "t", kind: .sequenceClassification, labels: ["a", "b"], train: .classification([]), dev: .classification([]), test: .classification([]))
        let scales = FineTuner(task: task, model: model, tokenizer: try tokenizer(), settings: settings, runFolder: temporaryFolder(), positiveLabel: nil).layerScales()!
        let byName = Dictionary(uniqueKeysWithValues: zip(model.parameters.map(\.name), scales))
        XCTAssertEqual(byName["bert.embeddings.word_embeddings.weight"]!, 0.8 * 0.8 * 0.8, accuracy: 1e-6)
        XCTAssertEqual(byName["bert.encoder.layer.0.attention.self.query.weight"]!, 0.8 * 0.8, accuracy: 1e-6)
        XCTAssertEqual(byName["bert.encoder.layer.1.output.dense.weight"]!, 0.8, accuracy: 1e-6)
        XCTAssertEqual(byName["classifier.weight"]!, 1, accuracy: 1e-6)
    }
}
