import ArgumentParser
import Collectives
import FineTuning
import Foundation
import Models
import PretrainKit
import Tasks
import Tokenizers
import Training

/// `pretrain tasks`: the built-in fine-tuning tasks.
struct TasksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tasks", abstract: "List the built-in fine-tuning tasks, their sizes and splits.")

    @Option(help: """
        Write this task's splits as {train,dev,test}.jsonl plus labels.json into --output (for cross-checks in other tools): \
        classification {"text", "pair", "label"}; tagging {"words", "tags"}; QA SQuAD-style {"id", "question", "context", \
        "answers": [{"text", "answer_start"}], "is_impossible"}; multiple choice {"id", "context", "question", "options", "label"}.
        """)
    var export: String?
    @Option(help: "Output folder for --export.") var output: String = "."

    /// One example as the JSON object `--export` writes.
    static func exportObject(_ examples: TaskExamples, _ i: Int) -> [String: Any] {
        switch examples {
        case let .classification(e):
            var object: [String: Any] = ["text": e[i].text, "label": e[i].label.category ?? e[i].label.value.map { "\($0)" } ?? ""]
            if let pair = e[i].pair { object["pair"] = pair }
            return object
        case let .tagging(e):
            return ["words": e[i].words, "tags": e[i].tags]
        case let .questionAnswering(e):
            return ["id": e[i].id, "question": e[i].question, "context": e[i].context, "is_impossible": e[i].isImpossible,
                    "answers": e[i].answers.map { ["text": $0.text, "answer_start": $0.characterStart] as [String: Any] }]
        case let .multipleChoice(e):
            return ["id": e[i].id, "context": e[i].context, "question": e[i].question, "options": e[i].options, "label": e[i].label]
        }
    }

    func run() throws {
        if let export {
            try reportingErrors {
                let task = try BuiltinTask.load(name: export)
                try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
                for split in TaskSplit.allCases {
                    let examples = task.examples(split)
                    var lines = ""
                    for i in 0..<examples.count {
                        let data = try JSONSerialization.data(withJSONObject: Self.exportObject(examples, i), options: [.sortedKeys, .withoutEscapingSlashes])
                        lines += String(decoding: data, as: UTF8.self) + "\n"
                    }
                    try lines.write(toFile: "\(output)/\(split.rawValue).jsonl", atomically: true, encoding: .utf8)
                }
                let labels = try JSONSerialization.data(withJSONObject: task.labels)
                try labels.write(to: URL(fileURLWithPath: "\(output)/labels.json"), options: .atomic)
                print("wrote \(output)/{train,dev,test}.jsonl (\(task.train.count)/\(task.dev.count)/\(task.test.count) examples) and labels.json (\(task.labels.count) labels)")
            }
            return
        }
        func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: max(n, s.count), withPad: " ", startingAt: 0) }
        print(pad("name", 15) + pad("kind", 24) + "  train    dev   test  " + pad("split by", 18) + "description")
        for t in BuiltinTask.all {
            print(pad(t.name, 15) + pad(t.kind.rawValue, 24) + String(format: "%7d %6d %6d  ", t.sizes.train, t.sizes.dev, t.sizes.test)
                  + pad(t.groupedBy, 18) + t.description)
        }
    }
}

/// Options naming a task and how to read it.
struct TaskOptions: ParsableArguments {
    @Option(help: "A built-in task (see `pretrain tasks`).") var task: String?
    @Option(help: "A task file (JSON: name, kind, format, train/dev/test paths, columns; see docs/TASKS.md).") var taskFile: String?

    func load() throws -> (TaskData, positiveLabel: String?) {
        switch (task, taskFile) {
        case (let name?, nil):
            return (try BuiltinTask.load(name: name), BuiltinTask.all.first { $0.name == name }?.positiveLabel)
        case (nil, let file?):
            let spec = try TaskFile.load(path: file)
            return (try spec.load(), spec.positiveLabel)
        default:
            throw ValidationError("give exactly one of --task NAME or --task-file FILE")
        }
    }
}

/// `pretrain finetune`: fine-tune a model folder on a task.
struct FineTuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune", abstract: "Fine-tune a model on a task; the best dev epoch is kept in RUN_DIR/model.")

    @OptionGroup var taskOptions: TaskOptions
    @Option(help: "A Hugging Face model folder (config.json, model.safetensors, tokenizer.json).") var model: String
    @Option(help: "The run folder (metrics.jsonl, model/).") var out: String
    @Option(name: .customLong("set"), help: "Override a setting: key=value (lr, epochs, batch_size, max_length, qa_max_length, doc_stride, warmup_fraction, weight_decay, layer_decay, seed, threads, max_train_examples; head=default|embedding: the task's own head or a sentence-embedding bi-encoder for pair tasks; embedding_loss=cosine|ranking, ranking_scale; teacher=DIR: distil from a model fine-tuned on the task, distill_temperature 2, distill_alpha 0.5).")
    var overrides: [String] = []

    func run() throws {
        try reportingErrors {
            var settings = FineTuneSettings()
            try settings.apply(overrides)
            // Under mpirun rank 0 writes and prints; ranks on one machine share its cores.
            let world = ProcessGroup.world
            Threading.configure(threads: settings.threads > 0 ? settings.threads : world.defaultThreads(cores: Threading.coreCount))
            let (task, positive) = try taskOptions.load()
            if world.isLeader {
                FileHandle.standardError.write(Data(("\(task.name): \(task.kind.rawValue), train \(task.train.count), dev \(task.dev.count), test \(task.test.count)"
                                                     + (world.isDistributed ? ", \(world.size) ranks × \(Threading.threadCount) threads" : "") + "\n").utf8))
            }
            let run = URL(fileURLWithPath: out)
            let best = try FineTuneJob(task: task, positiveLabel: positive, model: URL(fileURLWithPath: model), runFolder: run, settings: settings)
                .run(group: world)
            guard world.isLeader else { return }
            print("best dev: " + best.sorted(by: { $0.key < $1.key }).map { String(format: "%@ %.4f", $0.key, $0.value) }.joined(separator: "  "))
            print("model: \(run.appendingPathComponent("model").path)")
        }
    }
}

extension FineTuneSettings.HeadChoice: ExpressibleByArgument {}

/// `pretrain eval`: a fine-tuned model's metrics on a split.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a fine-tuned model on a task split (test by default), or a causal LM's perplexity on a text file.")

    @OptionGroup var taskOptions: TaskOptions
    @Option(help: "A fine-tuned model folder (RUN_DIR/model), or a GPT-2 model folder with --perplexity.") var model: String
    @Option(help: "A text file to score with a causal LM: its perplexity (the whole file as one text, in windows of --window tokens).")
    var perplexity: String?
    @Option(help: "Tokens per window with --perplexity (default: the model's positions).") var window: Int?
    @Option(help: "train, dev or test.") var split: String = "test"
    @Option(help: "default or embedding (cosine of separately embedded sentences; binary tasks use the threshold saved with the model, or the best on dev). Default: embedding for a sentence-transformers folder (a base model with modules.json, e.g. data/minilm or a model fine-tuned with head=embedding), else the task's own head.")
    var head: FineTuneSettings.HeadChoice?
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Flag(help: "Print {\"task\", \"split\", \"metrics\"} as JSON.") var json = false

    func run() throws {
        try reportingErrors {
            Threading.configure(threads: threads ?? Threading.coreCount)
            if let perplexity { return try scorePerplexity(of: perplexity) }
            guard let which = TaskSplit(rawValue: split) else { throw ValidationError("--split must be train, dev or test") }
            let (task, positive) = try taskOptions.load()
            let folder = URL(fileURLWithPath: model)
            let tokenizer = try Tokenizer(contentsOf: folder.appendingPathComponent("tokenizer.json"))
            var settings = FineTuneSettings()
            settings.head = head ?? (TaskModel.isSentenceEmbeddingFolder(folder) ? .embedding : .default)
            var threshold: Double?
            if settings.head == .embedding {
                // Sentences are truncated where the folder says (sentence-transformers' max_seq_length).
                if let length = try SentencePooling.load(folder: folder).maxSequenceLength { settings.maxLength = length }
                // The saved threshold belongs to the task it was chosen on.
                if let record = try EmbeddingHeadRecord.load(folder: folder), record.task == task.name { threshold = record.threshold }
            }
            let taskHead: TaskModel.Head
            do {
                taskHead = try FineTuner.head(for: task, settings: settings, positiveLabel: positive)
            } catch let error as FineTuningError where head == nil {
                throw ValidationError("\(model) is a sentence-transformers folder, so eval scores sentence pairs by the cosine of their embeddings, but \(error). Pass --head default to evaluate the task's own head on this encoder instead.")
            }
            let taskModel = try TaskModel.load(folder: folder, head: taskHead, seed: 0)
            let tuner = FineTuner(task: task, model: taskModel, tokenizer: tokenizer, settings: settings,
                                  runFolder: folder.deletingLastPathComponent(), positiveLabel: positive)
            tuner.similarityThreshold = threshold
            let metrics = try tuner.evaluate(split: which)
            if json {
                var object: [String: Any] = ["task": task.name, "split": which.rawValue, "metrics": metrics, "head": settings.head.rawValue]
                if let baseline = task.majorityBaseline(on: which) { object["majority_baseline"] = baseline }
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            } else {
                print("\(task.name) (\(which.rawValue), \(task.examples(which).count) examples)")
                for (key, value) in metrics.sorted(by: { $0.key < $1.key }) { print("  " + key.padding(toLength: 18, withPad: " ", startingAt: 0) + String(format: "%.4f", value)) }
                if let baseline = task.majorityBaseline(on: which) {
                    print("  " + "majority baseline".padding(toLength: 18, withPad: " ", startingAt: 0) + String(format: "%.4f", baseline))
                }
            }
        }
    }
    /// The perplexity of a text file under a causal LM: the file's text (lines joined by newlines)
    /// tokenized as one, scored in windows (see `PretrainingModel.score`).
    func scorePerplexity(of path: String) throws {
        let loaded = try TextModel(model)
        let text = try TextFiles.lines(path).joined(separator: "\n")
        let tokens = try loaded.tokenizer.encode(text, addSpecialTokens: false).ids.map { Int32($0) }
        let score = try loaded.model.score(tokens, window: window)
        if json {
            try printJSONLine(["perplexity": score.perplexity, "tokens": score.tokens, "negative_log_likelihood": score.negativeLogLikelihood,
                               "file": path])
        } else {
            print(String(format: "%@: perplexity %.3f over %d tokens", path, score.perplexity, score.tokens))
        }
    }
}
