/// The shape of a fine-tuning task: which head and loss a trainer needs.
public enum TaskKind: String, Sendable, CaseIterable, Codable {
    /// One label per text or text pair (softmax over `TaskData.labels`).
    case sequenceClassification
    /// One real value per text or text pair (e.g. similarity; mean squared error).
    case regression
    /// One tag per word (labels on the first piece of each word).
    case tokenClassification
    /// Extractive QA: start/end of the answer span in the context.
    case questionAnswering
    /// One score per option, softmax over the options.
    case multipleChoice
}

/// A classification target: a category name, or a real value for regression tasks.
public enum ExampleLabel: Sendable, Hashable {
    /// A class name (one of `TaskData.labels`).
    case category(String)
    /// A regression target.
    case value(Double)

    /// The class name, or nil for a regression value.
    public var category: String? { if case let .category(c) = self { return c } else { return nil } }
    /// The regression value, or nil for a category.
    public var value: Double? { if case let .value(v) = self { return v } else { return nil } }
}

/// A single text (or text pair) with its label: sentiment, hedge detection, paraphrase, WiC, GLUE.
public struct TextClassificationExample: Sendable, Hashable {
    /// The (first) text.
    public var text: String
    /// The second text of a pair task, or nil.
    public var pair: String?
    /// The target.
    public var label: ExampleLabel

    /// Creates an example.
    public init(text: String, pair: String? = nil, label: ExampleLabel) {
        self.text = text; self.pair = pair; self.label = label
    }
}

/// A sentence as words with one tag per word (POS tags, BIO entity tags).
public struct TokenTaggingExample: Sendable, Hashable {
    /// The words, already split (CoNLL / `word/TAG` files are pre-tokenised).
    public var words: [String]
    /// One tag per word.
    public var tags: [String]

    /// Creates an example; `words` and `tags` have the same count.
    public init(words: [String], tags: [String]) { self.words = words; self.tags = tags }
}

/// One gold answer of an extractive QA example.
public struct QuestionAnswer: Sendable, Hashable {
    /// The answer text, equal to the context's scalars `characterStart ..< characterStart + text.unicodeScalars.count`.
    public var text: String
    /// Start of the answer in the context, in Unicode scalars (SQuAD's `answer_start`, like a Python index).
    public var characterStart: Int

    /// Creates an answer.
    public init(text: String, characterStart: Int) { self.text = text; self.characterStart = characterStart }

    /// One past the last scalar of the answer in the context.
    public var characterEnd: Int { characterStart + text.unicodeScalars.count }
}

/// A SQuAD-shaped example: a question about a context, answered by spans of the context.
public struct QuestionAnsweringExample: Sendable, Hashable {
    /// Unique id (SQuAD `id`), used to match predictions with gold answers.
    public var id: String
    /// The question.
    public var question: String
    /// The passage holding the answer.
    public var context: String
    /// Gold answers (several annotators in SQuAD dev; empty when impossible).
    public var answers: [QuestionAnswer]
    /// SQuAD v2: the context does not answer the question.
    public var isImpossible: Bool

    /// Creates an example.
    public init(id: String, question: String, context: String, answers: [QuestionAnswer], isImpossible: Bool = false) {
        self.id = id; self.question = question; self.context = context; self.answers = answers; self.isImpossible = isImpossible
    }
}

/// A RACE-shaped example: a context and question with options, one of them right.
public struct MultipleChoiceExample: Sendable, Hashable {
    /// Unique id.
    public var id: String
    /// The passage (RACE article; WordNet example sentence).
    public var context: String
    /// The question (may be empty when the context alone asks it).
    public var question: String
    /// The candidate answers.
    public var options: [String]
    /// Index of the right option in `options`.
    public var label: Int

    /// Creates an example.
    public init(id: String, context: String, question: String, options: [String], label: Int) {
        self.id = id; self.context = context; self.question = question; self.options = options; self.label = label
    }
}

/// The examples of one split, typed by task shape.
public enum TaskExamples: Sendable, Hashable {
    /// Classification or regression examples.
    case classification([TextClassificationExample])
    /// Tagging examples.
    case tagging([TokenTaggingExample])
    /// Extractive QA examples.
    case questionAnswering([QuestionAnsweringExample])
    /// Multiple-choice examples.
    case multipleChoice([MultipleChoiceExample])

    /// Number of examples.
    public var count: Int {
        switch self {
        case let .classification(e): return e.count
        case let .tagging(e): return e.count
        case let .questionAnswering(e): return e.count
        case let .multipleChoice(e): return e.count
        }
    }
    /// The classification examples, or nil for another shape.
    public var classification: [TextClassificationExample]? { if case let .classification(e) = self { return e } else { return nil } }
    /// The tagging examples, or nil for another shape.
    public var tagging: [TokenTaggingExample]? { if case let .tagging(e) = self { return e } else { return nil } }
    /// The QA examples, or nil for another shape.
    public var questionAnswering: [QuestionAnsweringExample]? { if case let .questionAnswering(e) = self { return e } else { return nil } }
    /// The multiple-choice examples, or nil for another shape.
    public var multipleChoice: [MultipleChoiceExample]? { if case let .multipleChoice(e) = self { return e } else { return nil } }
}

/// Which part of a task's data.
public enum TaskSplit: String, Sendable, CaseIterable, Codable {
    /// Fitted on.
    case train
    /// Model selection (best checkpoint, early stopping).
    case dev
    /// Reported once.
    case test
}

/// A task's data: train/dev/test examples and the label list.
public struct TaskData: Sendable {
    /// Task name (`sentiment`, or the file's name for a user task).
    public var name: String
    /// The task's shape.
    public var kind: TaskKind
    /// Class names in a fixed order (label index = position): categories for classification,
    /// tags for tagging, empty for regression/QA/multiple choice.
    public var labels: [String]
    /// Training examples.
    public var train: TaskExamples
    /// Development examples.
    public var dev: TaskExamples
    /// Test examples.
    public var test: TaskExamples
    /// What the builder skipped or capped, and why (nothing is dropped silently).
    public var notes: [String]

    /// Creates task data.
    public init(name: String, kind: TaskKind, labels: [String], train: TaskExamples, dev: TaskExamples, test: TaskExamples, notes: [String] = []) {
        self.name = name; self.kind = kind; self.labels = labels; self.train = train; self.dev = dev; self.test = test; self.notes = notes
    }

    /// The examples of `split`.
    public func examples(_ split: TaskSplit) -> TaskExamples {
        switch split {
        case .train: return train
        case .dev: return dev
        case .test: return test
        }
    }

    /// Accuracy of always predicting the most frequent label of the training split, measured on
    /// `split` (for tagging: the most frequent tag per token; for multiple choice: the most frequent
    /// answer position; nil for regression and QA).
    public func majorityBaseline(on split: TaskSplit) -> Double? {
        func majority<T: Hashable>(_ train: [T], _ eval: [T]) -> Double? {
            guard !eval.isEmpty else { return nil }
            var counts: [T: Int] = [:]
            for t in train { counts[t, default: 0] += 1 }
            guard let best = counts.max(by: { $0.value < $1.value || ($0.value == $1.value && "\($0.key)" > "\($1.key)") })?.key else { return nil }
            return Double(eval.filter { $0 == best }.count) / Double(eval.count)
        }
        switch (train, examples(split)) {
        case let (.classification(t), .classification(e)):
            guard kind == .sequenceClassification else { return nil }
            return majority(t.map(\.label), e.map(\.label))
        case let (.tagging(t), .tagging(e)):
            return majority(t.flatMap(\.tags), e.flatMap(\.tags))
        case let (.multipleChoice(t), .multipleChoice(e)):
            return majority(t.map(\.label), e.map(\.label))
        default:
            return nil
        }
    }
}
