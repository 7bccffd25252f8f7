import Collectives
import Foundation
import Models
import Tasks
import Tokenizers

/// Fine-tuning a model folder on a task end to end — what `pretrain finetune` runs:
///
/// ```swift
/// import FineTuning
///
/// var settings = FineTuneSettings()
/// try settings.apply(["epochs=2", "lr=5e-5"])
/// let job = try FineTuneJob(builtinTask: "sentiment", model: URL(fileURLWithPath: "data/minilm"),
///                           runFolder: URL(fileURLWithPath: "runs/ft-sentiment"), settings: settings)
/// let best = try job.run()          // the best dev epoch's metrics; its model is in runs/ft-sentiment/model
/// ```
public struct FineTuneJob {
    public var task: TaskData
    /// The label binary F1 (and the sentence-embedding head) treats as positive.
    public var positiveLabel: String?
    /// The model folder to start from (config.json, model.safetensors, tokenizer.json).
    public var model: URL
    /// Where `settings.json`, `metrics.jsonl` and the best `model/` go.
    public var runFolder: URL
    public var settings: FineTuneSettings

    public init(task: TaskData, positiveLabel: String? = nil, model: URL, runFolder: URL, settings: FineTuneSettings = FineTuneSettings()) {
        (self.task, self.positiveLabel, self.model, self.runFolder, self.settings) = (task, positiveLabel, model, runFolder, settings)
    }

    /// A built-in task by name (`pretrain tasks`: sentiment, hedge, pos, wordnet-qa, wordnet-choice, wic, paraphrase).
    public init(builtinTask name: String, model: URL, runFolder: URL, settings: FineTuneSettings = FineTuneSettings()) throws {
        self.init(task: try BuiltinTask.load(name: name), positiveLabel: BuiltinTask.all.first { $0.name == name }?.positiveLabel,
                  model: model, runFolder: runFolder, settings: settings)
    }

    /// Trains (under `mpirun`, every rank its share of each batch) and returns the best dev
    /// metrics — on rank 0; the other ranks return none. `report` gets progress lines.
    public func run(group: ProcessGroup = .world, report: @escaping (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) throws -> [String: Double] {
        var task = task
        if settings.maxTrainExamples > 0, task.train.count > settings.maxTrainExamples { task.train = task.train.prefix(settings.maxTrainExamples) }
        let tokenizer = try Tokenizer(contentsOf: model.appendingPathComponent("tokenizer.json"))
        let taskModel = try TaskModel.load(folder: model, head: FineTuner.head(for: task, settings: settings, positiveLabel: positiveLabel), seed: settings.seed)
        if group.isLeader {
            try FileManager.default.createDirectory(at: runFolder, withIntermediateDirectories: true)
            try JSONSerialization.data(withJSONObject: settings.json, options: [.sortedKeys, .prettyPrinted])
                .write(to: runFolder.appendingPathComponent("settings.json"))
        }
        let tuner = FineTuner(task: task, model: taskModel, tokenizer: tokenizer, settings: settings, runFolder: runFolder, positiveLabel: positiveLabel)
        tuner.report = group.isLeader ? report : { _ in }
        if !settings.teacher.isEmpty {
            let teacher = try TaskModel.load(folder: URL(fileURLWithPath: settings.teacher), head: taskModel.head, seed: settings.seed, requiringHead: true)
            tuner.distillation = try TaskDistillation(teacher: teacher, student: taskModel, temperature: settings.distillTemperature, alpha: settings.distillAlpha)
        }
        return try tuner.train(group: group)
    }
}
