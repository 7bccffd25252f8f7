import Foundation

/// A built-in fine-tuning task built from real data that installs from OS packages (see
/// docs/TASKS.md). Every task splits 80/10/10 by FNV-1a of a group key (`splitOf(key:)`), then
/// caps each split after a seeded shuffle (seed 42) at `caps` so that a 6-layer H384 model
/// fine-tunes on 2 CPU cores in ≤ 15 minutes.
public struct BuiltinTask: Sendable, Hashable {
    /// Name for `--task`.
    public var name: String
    /// The task's shape.
    public var kind: TaskKind
    /// What the task is, its source and its label meaning.
    public var description: String
    /// How examples are grouped before splitting (what cannot leak between splits).
    public var groupedBy: String
    /// Largest train/dev/test sizes kept.
    public var caps: (train: Int, dev: Int, test: Int)
    /// The sizes the builder produces from the packaged data (checked by the tests).
    public var sizes: (train: Int, dev: Int, test: Int)
    /// The label treated as positive by binary F1, when the task has one.
    public var positiveLabel: String?

    /// Tasks are identified by name.
    public static func == (a: BuiltinTask, b: BuiltinTask) -> Bool { a.name == b.name }
    /// Hashes the name.
    public func hash(into h: inout Hasher) { h.combine(name) }

    /// The seed of every shuffle and sample.
    public static let seed: UInt64 = 42

    /// The python3-pattern corpora folder under `dataDirectory` (filled by scripts/fetch-pattern.sh).
    public static func patternCorpora(dataDirectory: String) -> String {
        "\(dataDirectory)/pattern/usr/share/doc/python3-pattern/test/corpora"
    }

    /// All built-in tasks.
    public static let all: [BuiltinTask] = [
        BuiltinTask(name: "sentiment", kind: .sequenceClassification,
                    description: "Pang & Lee sentence polarity (movie-review sentences; labels positive/negative from 1/-1), python3-pattern polarity-en-pang&lee2.csv",
                    groupedBy: "sentence text", caps: (8000, 1000, 1000), sizes: (3131, 432, 437), positiveLabel: "positive"),
        BuiltinTask(name: "hedge", kind: .sequenceClassification,
                    description: "CoNLL-2010 Wikipedia hedge detection (certain/uncertain from 1/-1), python3-pattern uncertainty-conll2010.csv",
                    groupedBy: "sentence text", caps: (8000, 1000, 1000), sizes: (2324, 309, 324), positiveLabel: "uncertain"),
        BuiltinTask(name: "pos", kind: .tokenClassification,
                    description: "OANC part-of-speech tagging (Penn tags, word/TAG lines), python3-pattern tagged-en-oanc.txt",
                    groupedBy: "sentence text", caps: (8000, 1000, 1000), sizes: (8000, 1000, 1000), positiveLabel: nil),
        BuiltinTask(name: "wordnet-qa", kind: .questionAnswering,
                    description: "Extractive QA from WordNet: question = a synset's gloss, context = its example sentence, answer = the headword (or an inflection) in it",
                    groupedBy: "synset", caps: (8000, 1000, 1000), sizes: (8000, 1000, 1000), positiveLabel: nil),
        BuiltinTask(name: "wordnet-choice", kind: .multipleChoice,
                    description: "Multiple choice from WordNet: context = example sentence, question = the word, options = glosses of 4 senses of the word (one right)",
                    groupedBy: "synset", caps: (8000, 1000, 1000), sizes: (8000, 1000, 1000), positiveLabel: nil),
        BuiltinTask(name: "wic", kind: .sequenceClassification,
                    description: "Word-in-Context from WordNet: two example sentences holding the same word (text = \"word: sentence 1\", pair = sentence 2); same sense or not, balanced",
                    groupedBy: "lemma", caps: (8000, 1000, 1000), sizes: (8000, 1000, 1000), positiveLabel: "same"),
        BuiltinTask(name: "paraphrase", kind: .sequenceClassification,
                    description: "KJV verse ↔ World English Bible verse: 1 for the same reference, 0 for another verse of the same chapter (a neighbour or a random one); balanced",
                    groupedBy: "book and chapter", caps: (8000, 1000, 1000), sizes: (8000, 1000, 1000), positiveLabel: "1"),
    ]

    /// The default data folder: `$PRETRAIN_DATA_DIR`, else `data` in the current directory.
    public static var defaultDataDirectory: String { ProcessInfo.processInfo.environment["PRETRAIN_DATA_DIR"] ?? "data" }

    /// Builds the named task's splits from its source data.
    /// - Throws: `TaskDataError.unknownTask`, or `.missingSource` naming the setup step that installs the data.
    public static func load(name: String, dataDirectory: String = defaultDataDirectory, wordNetDirectory: String = WordNet.defaultDirectory) throws -> TaskData {
        guard let task = all.first(where: { $0.name == name }) else { throw TaskDataError.unknownTask(name: name, known: all.map(\.name)) }
        let corpora = patternCorpora(dataDirectory: dataDirectory)
        func pattern(_ file: String) throws -> String {
            let p = "\(corpora)/\(file)"
            guard FileManager.default.fileExists(atPath: p) else {
                throw TaskDataError.missingSource(task: name, path: p, setup: "run scripts/setup.sh (scripts/fetch-pattern.sh fetches python3-pattern into data/pattern)")
            }
            return p
        }
        switch name {
        case "sentiment":
            return try polarity(task, path: try pattern("polarity-en-pang&lee2.csv"), names: ["1": "positive", "-1": "negative"])
        case "hedge":
            return try polarity(task, path: try pattern("uncertainty-conll2010.csv"), names: ["1": "certain", "-1": "uncertain"])
        case "pos":
            return try partOfSpeech(task, path: try pattern("tagged-en-oanc.txt"))
        case "wordnet-qa":
            return wordNetQA(task, try WordNet.synsets(directory: wordNetDirectory))
        case "wordnet-choice":
            return wordNetChoice(task, try WordNet.synsets(directory: wordNetDirectory))
        case "wic":
            return wordInContext(task, try WordNet.synsets(directory: wordNetDirectory))
        default:
            return try paraphrase(task)
        }
    }

    // MARK: Splitting

    /// Groups keyed items into splits, shuffles each with the seed and caps it.
    static func split<T>(_ items: [(key: String, item: T)], caps: (train: Int, dev: Int, test: Int)) -> (train: [T], dev: [T], test: [T]) {
        var parts: [TaskSplit: [T]] = [.train: [], .dev: [], .test: []]
        for (key, item) in items { parts[splitOf(key: key), default: []].append(item) }
        var rng = SeededGenerator(seed: seed)
        func take(_ s: TaskSplit, _ cap: Int) -> [T] {
            var v = parts[s] ?? []
            v.shuffle(using: &rng)
            return Array(v.prefix(cap))
        }
        return (take(.train, caps.train), take(.dev, caps.dev), take(.test, caps.test))
    }

    /// Like `split`, but caps each label at half the cap so capped splits stay balanced.
    static func balancedSplit(_ items: [(key: String, item: TextClassificationExample)], caps: (train: Int, dev: Int, test: Int))
        -> (train: [TextClassificationExample], dev: [TextClassificationExample], test: [TextClassificationExample]) {
        let labels = Array(Set(items.map { $0.item.label.category ?? "" })).sorted()
        var train: [TextClassificationExample] = [], dev: [TextClassificationExample] = [], test: [TextClassificationExample] = []
        for l in labels {
            let s = split(items.filter { $0.item.label.category == l },
                          caps: (caps.train / labels.count, caps.dev / labels.count, caps.test / labels.count))
            train += s.train; dev += s.dev; test += s.test
        }
        var rng = SeededGenerator(seed: seed &+ 1)
        train.shuffle(using: &rng); dev.shuffle(using: &rng); test.shuffle(using: &rng)
        return (train, dev, test)
    }

    // MARK: Builders

    static func polarity(_ task: BuiltinTask, path: String, names: [String: String]) throws -> TaskData {
        var items: [(key: String, item: TextClassificationExample)] = []
        var seen = Set<String>()
        var duplicates = 0
        for row in try TaskLoaders.records(path: path, format: .csv) {
            guard row.fields.count == 2 else {
                throw TaskDataError.malformedRow(path: path, line: row.line, problem: "\(row.fields.count) columns, expected 2 (label, text)", fix: "re-run scripts/fetch-pattern.sh")
            }
            guard let label = names[row.fields[0]] else {
                throw TaskDataError.malformedRow(path: path, line: row.line, problem: "label \"\(row.fields[0])\" is not 1 or -1", fix: "re-run scripts/fetch-pattern.sh")
            }
            let text = row.fields[1].trimmingCharacters(in: .whitespacesAndNewlines)
            // Repeated sentences would count twice; keep the first.
            guard seen.insert(text).inserted else { duplicates += 1; continue }
            items.append((text, TextClassificationExample(text: text, label: .category(label))))
        }
        let s = split(items, caps: task.caps)
        return TaskData(name: task.name, kind: task.kind, labels: names.values.sorted(), train: .classification(s.train), dev: .classification(s.dev),
                        test: .classification(s.test), notes: ["\(items.count) sentences, \(duplicates) repeated sentences skipped"])
    }

    static func partOfSpeech(_ task: BuiltinTask, path: String) throws -> TaskData {
        let sentences = try TaskLoaders.wordTag(path: path)
        let items = sentences.map { (key: $0.words.joined(separator: " "), item: $0) }
        let s = split(items, caps: task.caps)
        let tags = Set(sentences.flatMap(\.tags)).sorted()
        return TaskData(name: task.name, kind: task.kind, labels: tags, train: .tagging(s.train), dev: .tagging(s.dev), test: .tagging(s.test),
                        notes: ["\(sentences.count) sentences, \(tags.count) tags"])
    }

    static func wordNetQA(_ task: BuiltinTask, _ synsets: [WordNetSynset]) -> TaskData {
        var items: [(key: String, item: QuestionAnsweringExample)] = []
        var notFound = 0
        for s in synsets where !s.definition.isEmpty {
            for (k, example) in s.examples.enumerated() {
                // The first of the synset's words found in the sentence is the answer.
                guard let span = s.words.lazy.compactMap({ WordNet.find($0, in: example) }).first else { notFound += 1; continue }
                let scalars = Array(example.unicodeScalars)
                let text = String(String.UnicodeScalarView(scalars[span]))
                items.append((s.id, QuestionAnsweringExample(id: "\(s.id)-\(k)", question: s.definition, context: example,
                                                             answers: [QuestionAnswer(text: text, characterStart: span.lowerBound)])))
            }
        }
        let sp = split(items, caps: task.caps)
        return TaskData(name: task.name, kind: task.kind, labels: [], train: .questionAnswering(sp.train), dev: .questionAnswering(sp.dev),
                        test: .questionAnswering(sp.test),
                        notes: ["\(items.count) examples; \(notFound) example sentences skipped (no form of the headword found in them)"])
    }

    /// Senses of each (lemma, part of speech), in file order.
    static func senses(_ synsets: [WordNetSynset]) -> [String: [Int]] {
        var index: [String: [Int]] = [:]
        for (i, s) in synsets.enumerated() {
            let pos = s.type == "s" ? "a" : s.type
            for w in s.words { index["\(w.lowercased())|\(pos)", default: []].append(i) }
        }
        return index
    }

    static func wordNetChoice(_ task: BuiltinTask, _ synsets: [WordNetSynset]) -> TaskData {
        let index = senses(synsets)
        var rng = SeededGenerator(seed: seed)
        var items: [(key: String, item: MultipleChoiceExample)] = []
        var fewSenses = 0
        for (i, s) in synsets.enumerated() where !s.examples.isEmpty {
            let pos = s.type == "s" ? "a" : s.type
            // The first word of the synset with ≥ 4 senses whose glosses differ.
            var chosen: (word: String, others: [Int])?
            for w in s.words {
                let others = (index["\(w.lowercased())|\(pos)"] ?? []).filter { $0 != i && synsets[$0].definition != s.definition && !synsets[$0].definition.isEmpty }
                if Set(others.map { synsets[$0].definition }).count >= 3 { chosen = (w, others); break }
            }
            guard let (word, others) = chosen else { fewSenses += s.examples.count; continue }
            for (k, example) in s.examples.enumerated() {
                var distractors: [String] = []
                for j in others.shuffled(using: &rng) where !distractors.contains(synsets[j].definition) {
                    distractors.append(synsets[j].definition)
                    if distractors.count == 3 { break }
                }
                var options = distractors + [s.definition]
                options.shuffle(using: &rng)
                let label = options.firstIndex(of: s.definition) ?? 0
                items.append((s.id, MultipleChoiceExample(id: "\(s.id)-\(k)", context: example, question: word, options: options, label: label)))
            }
        }
        let sp = split(items, caps: task.caps)
        return TaskData(name: task.name, kind: task.kind, labels: [], train: .multipleChoice(sp.train), dev: .multipleChoice(sp.dev),
                        test: .multipleChoice(sp.test),
                        notes: ["\(items.count) examples; \(fewSenses) example sentences skipped (no word of the synset has 4 senses with distinct glosses)"])
    }

    static func wordInContext(_ task: BuiltinTask, _ synsets: [WordNetSynset]) -> TaskData {
        // Per (lemma, pos): the example sentences holding the lemma, with their synset.
        var uses: [String: [(synset: Int, sentence: String)]] = [:]
        var order: [String] = []
        for (i, s) in synsets.enumerated() {
            let pos = s.type == "s" ? "a" : s.type
            for w in s.words {
                for e in s.examples where WordNet.find(w, in: e) != nil {
                    let key = "\(w.lowercased())|\(pos)"
                    if uses[key] == nil { order.append(key) }
                    uses[key, default: []].append((i, e))
                }
            }
        }
        var positives: [(key: String, item: TextClassificationExample)] = []
        var negatives: [(key: String, item: TextClassificationExample)] = []
        for key in order {
            guard let list = uses[key], list.count >= 2 else { continue }
            let word = String(key.split(separator: "|")[0])
            for a in 0..<list.count {
                for b in (a + 1)..<list.count where list[a].sentence != list[b].sentence {
                    let same = list[a].synset == list[b].synset
                    let ex = TextClassificationExample(text: "\(word): \(list[a].sentence)", pair: list[b].sentence,
                                                       label: .category(same ? "same" : "different"))
                    // Grouped by the word alone, so no word is in two splits (whatever its part of speech).
                    if same { positives.append((word, ex)) } else { negatives.append((word, ex)) }
                }
            }
        }
        let note = "\(positives.count) same-sense and \(negatives.count) different-sense pairs before balancing (each capped split takes half of each)"
        let s = balancedSplit(positives + negatives, caps: task.caps)
        return TaskData(name: task.name, kind: task.kind, labels: ["different", "same"], train: .classification(s.train), dev: .classification(s.dev),
                        test: .classification(s.test), notes: [note])
    }

    static func paraphrase(_ task: BuiltinTask) throws -> TaskData {
        let (books, kjv) = try Bibles.kjv()
        let web = try Bibles.web(books: books)
        var rng = SeededGenerator(seed: seed)
        // Verses of each chapter, for negatives from the same chapter (keeps chapters in one split).
        var chapters: [String: [Bibles.Reference]] = [:]
        let refs = kjv.keys.filter { web[$0] != nil }.sorted()
        for r in refs { chapters["\(r.book) \(r.chapter)", default: []].append(r) }
        var items: [(key: String, item: TextClassificationExample)] = []
        var skipped = 0
        for r in refs {
            guard let k = kjv[r], let w = web[r], !k.isEmpty, !w.isEmpty else { skipped += 1; continue }
            let ratio = Double(k.count) / Double(w.count)
            // Very unequal lengths are parsing leftovers (a glossary after Rev 22:21), not translations.
            guard ratio > 1.0 / 3, ratio < 3 else { skipped += 1; continue }
            let key = "\(r.book) \(r.chapter)"
            items.append((key, TextClassificationExample(text: k, pair: w, label: .category("1"))))
            let chapter = chapters[key] ?? []
            guard chapter.count > 1, let at = chapter.firstIndex(of: r) else { continue }
            // Half the negatives are a neighbouring verse (hard), half a random verse of the chapter.
            var other: Bibles.Reference
            if Bool.random(using: &rng) {
                other = at + 1 < chapter.count ? chapter[at + 1] : chapter[at - 1]
            } else {
                repeat { other = chapter[Int.random(in: 0..<chapter.count, using: &rng)] } while other == r
            }
            if let o = web[other], !o.isEmpty, o != w {
                items.append((key, TextClassificationExample(text: k, pair: o, label: .category("0"))))
            }
        }
        let s = balancedSplit(items, caps: task.caps)
        return TaskData(name: task.name, kind: task.kind, labels: ["0", "1"], train: .classification(s.train), dev: .classification(s.dev),
                        test: .classification(s.test),
                        notes: ["\(refs.count) aligned verses, \(skipped) skipped (empty or lengths differing more than 3x), \(items.count) pairs before capping"])
    }
}
