import Foundation
import Tasks

/// A user's task described in a small JSON file (`pretrain finetune --task-file FILE`), pointing at
/// data in the formats users already have:
///
///     {"name": "my-sst", "kind": "sequenceClassification", "format": "tsv",
///      "train": "train.tsv", "dev": "dev.tsv", "test": "test.tsv",
///      "text_column": "sentence", "label_column": "label", "positive_label": "1"}
///
/// kinds: sequenceClassification, regression (formats tsv, csv, jsonl; `pair_column` for pairs),
/// tokenClassification (conll, word_tag), questionAnswering (squad), multipleChoice (race).
/// Paths are relative to the task file. `dev`/`test` may be omitted (then dev = test = the other).
public struct TaskFile: Codable, Sendable {
    public var name: String
    public var kind: TaskKind
    public var format: String
    public var train: String
    public var dev: String?
    public var test: String?
    public var textColumn: String?
    public var pairColumn: String?
    public var labelColumn: String?
    public var positiveLabel: String?
    var folder: String?

    enum CodingKeys: String, CodingKey {
        case name, kind, format, train, dev, test
        case textColumn = "text_column", pairColumn = "pair_column", labelColumn = "label_column", positiveLabel = "positive_label"
    }

    public static func load(path: String) throws -> TaskFile {
        guard let data = FileManager.default.contents(atPath: path) else { throw TaskDataError.unreadableFile(path: path, reason: "no such file") }
        do {
            var spec = try JSONDecoder().decode(TaskFile.self, from: data)
            spec.folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
            return spec
        } catch let error as DecodingError {
            throw TaskDataError.invalidArgument("task file \(path) is not a valid task description (\(error)); see docs/TASKS.md for the keys")
        }
    }

    func resolve(_ file: String) -> String { file.hasPrefix("/") ? file : "\(folder ?? ".")/\(file)" }

    /// Reads the splits.
    public func load() throws -> TaskData {
        let columns = ColumnSelection(text: textColumn ?? "text", pair: pairColumn, label: labelColumn ?? "label")
        func read(_ file: String) throws -> TaskExamples {
            let path = resolve(file)
            switch (kind, format) {
            case (.sequenceClassification, "tsv"), (.regression, "tsv"):
                return .classification(try TaskLoaders.classification(path: path, format: .tsv, columns: columns, regression: kind == .regression))
            case (.sequenceClassification, "csv"), (.regression, "csv"):
                return .classification(try TaskLoaders.classification(path: path, format: .csv, columns: columns, regression: kind == .regression))
            case (.sequenceClassification, "jsonl"), (.regression, "jsonl"):
                return .classification(try TaskLoaders.classificationJSONL(path: path, fields: columns, regression: kind == .regression))
            case (.tokenClassification, "conll"): return .tagging(try TaskLoaders.conll(path: path))
            case (.tokenClassification, "word_tag"): return .tagging(try TaskLoaders.wordTag(path: path))
            case (.questionAnswering, "squad"): return .questionAnswering(try TaskLoaders.squad(path: path))
            case (.multipleChoice, "race"): return .multipleChoice(try TaskLoaders.race(path: path))
            default:
                throw TaskDataError.invalidArgument("task \(name): format '\(format)' does not fit kind \(kind.rawValue) (classification: tsv, csv, jsonl; tagging: conll, word_tag; QA: squad; multiple choice: race)")
            }
        }
        let trainExamples = try read(train)
        let devExamples = try (dev ?? test).map(read) ?? trainExamples
        let testExamples = try (test ?? dev).map(read) ?? devExamples
        var labels: [String] = []
        switch trainExamples {
        case .classification(let e) where kind == .sequenceClassification: labels = Array(Set(e.compactMap(\.label.category))).sorted()
        case .tagging(let e): labels = Array(Set(e.flatMap(\.tags))).sorted()
        default: break
        }
        return TaskData(name: name, kind: kind, labels: labels, train: trainExamples, dev: devExamples, test: testExamples)
    }
}

extension TaskExamples {
    /// The first `n` examples.
    public func prefix(_ n: Int) -> TaskExamples {
        switch self {
        case .classification(let e): return .classification(Array(e.prefix(n)))
        case .tagging(let e): return .tagging(Array(e.prefix(n)))
        case .questionAnswering(let e): return .questionAnswering(Array(e.prefix(n)))
        case .multipleChoice(let e): return .multipleChoice(Array(e.prefix(n)))
        }
    }
}
