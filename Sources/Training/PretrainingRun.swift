import Collectives
import Foundation
import Models
import PretrainingData
import Tokenizers

/// Sets up a pretraining run folder — recipe, tokenizer, shards, model, instance streams — and
/// exports its result. The folder holds everything a resumed run needs:
///
///     RUN_DIR/recipe.json        the effective recipe (a resumed run starts from it)
///     RUN_DIR/corpus.json        the corpus files (absolute), format and text field
///     RUN_DIR/tokenizer.json     trained on the corpus unless the recipe names one
///     RUN_DIR/data/{train,heldout}/shard-*.bin + manifest.json
///     RUN_DIR/metrics.jsonl, loss.svg, accuracy.svg
///     RUN_DIR/checkpoints/step-*/
///     RUN_DIR/model/             config.json + model.safetensors + tokenizer.json (Hugging Face)
public struct PretrainingRun {
    public let folder: URL
    public let recipe: Recipe
    public let tokenizer: Tokenizer
    public let trainer: Trainer

    /// Options for reading the corpus files.
    public struct CorpusOptions: Sendable, Codable, Equatable {
        public var files: [String]
        public var format: CorpusFormat
        public var textField: String
        public init(files: [String], format: CorpusFormat = .text, textField: String = "text") {
            (self.files, self.format, self.textField) = (files, format, textField)
        }
        enum CodingKeys: String, CodingKey { case files, format, textField = "text_field" }
    }

    /// Opens (or, with `resume`, reopens) a run. Under `mpirun`, rank 0 writes the folder (recipe,
    /// tokenizer, shards) while the other ranks wait, then read what it wrote. From code:
    ///
    /// ```swift
    /// let recipe = try Recipe.load("roberta", overrides: ["model=tiny", "max_steps=2000"])
    /// let run = try PretrainingRun(recipe: recipe, corpus: .init(files: ["corpus.txt"]), folder: URL(fileURLWithPath: "runs/rob"))
    /// try run.trainer.train()
    /// let folders = try run.export()      // runs/rob/model: a Hugging Face folder with its tokenizer
    /// ```
    ///
    /// `overrides` (`key=value`) apply on top of a resumed run's own recipe.json.
    public init(recipe requested: Recipe, overrides: [String] = [], corpus: CorpusOptions, folder: URL, resume: Bool = false,
                report: @escaping (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) },
                group: ProcessGroup = .world) throws {
        self.folder = folder
        if !group.isLeader { group.barrier() }
        let fm = FileManager.default
        let recipeURL = folder.appendingPathComponent("recipe.json")
        let store = CheckpointStore(runFolder: folder)
        var recipe = requested
        if resume {
            guard fm.fileExists(atPath: recipeURL.path) else {
                throw RecipeError.invalid("--resume: \(folder.path) has no recipe.json; it is not a run folder (start without --resume)")
            }
            // The run's own recipe, with this invocation's overrides (e.g. a larger max_steps).
            recipe = try Recipe.parse(Data(contentsOf: recipeURL), source: recipeURL.path, overrides: overrides)
        } else if !store.checkpoints().isEmpty {
            throw RecipeError.invalid("\(folder.path) already holds a run with checkpoints; pass --resume to continue it or choose another --out")
        }
        if group.isLeader {
            try fm.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data(recipe.json().utf8).write(to: recipeURL, options: .atomic)
        }
        self.recipe = recipe
        // A run killed before its shards were ready prepares them again on --resume, from the
        // corpus it was started with (unless this invocation names one).
        let corpusURL = folder.appendingPathComponent("corpus.json")
        var corpus = corpus
        if corpus.files.isEmpty, resume, let data = fm.contents(atPath: corpusURL.path) {
            do { corpus = try JSONDecoder().decode(CorpusOptions.self, from: data) } catch {
                throw RecipeError.invalid("--resume: \(corpusURL.path) is unreadable (\(error)); pass the run's --corpus files again")
            }
        } else if !corpus.files.isEmpty {
            corpus.files = corpus.files.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            if group.isLeader { try encoder.encode(corpus).write(to: corpusURL, options: .atomic) }
        }
        // Ranks on one machine share its cores.
        Threading.configure(threads: recipe.threads > 0 ? recipe.threads : group.defaultThreads(cores: Threading.coreCount))

        if !resume || !fm.fileExists(atPath: folder.appendingPathComponent("tokenizer.json").path) {
            guard !corpus.files.isEmpty else { throw CorpusError.emptyCorpus(description: "no --corpus files were given") }
        }
        // Translation LM reads verse pairs (held in memory) instead of shards.
        var parallel: ParallelVerses?
        if recipe.format == .translation {
            guard corpus.format == .parallel || corpus.format == .text else {
                throw RecipeError.invalid("format translation reads a parallel corpus (`pretrain corpus parallel web rv1909 --output FILE`), not --format \(corpus.format.rawValue)")
            }
            guard !corpus.files.isEmpty else { throw CorpusError.emptyCorpus(description: "no --corpus files were given") }
            let read = try ParallelVerses.read(files: corpus.files)
            if read.invalidUTF8Lines > 0 { report("\(read.invalidUTF8Lines) invalid UTF-8 lines of the parallel corpus skipped") }
            parallel = read.verses
        }
        tokenizer = try RunTokenizer.prepare(recipe: recipe, runFolder: folder, corpusLines: {
            if let parallel {
                // Both languages, training books only.
                return parallel.split(heldoutBooks: Set(recipe.heldoutBooks)).train.flatMap { [$0.first, $0.second] }
            }
            let stream = try documents(files: corpus.files, format: corpus.format, textField: corpus.textField)
            var lines: [String] = []
            while lines.count < RunTokenizer.trainingLineLimit, let document = try stream.nextDocument() { lines += document }
            return lines
        }, report: report)

        // What the instances come from: shards of a corpus, or (translation LM) the verse pairs.
        enum RunData { case shards(ShardedCorpus, heldout: ShardedCorpus?), translation(ParallelVerses) }
        let data: RunData
        if let parallel { data = .translation(parallel) } else {
            let (train, heldout) = try Self.shards(recipe: recipe, corpus: corpus, tokenizer: tokenizer, folder: folder, report: report)
            data = .shards(train, heldout: heldout)
        }
        if group.isLeader { group.barrier() }
        let template = try SequenceTemplate(tokenizer: tokenizer)
        // GPT-2 has no padding token: its batches pad with end-of-text, which the attention mask hides.
        guard let padID = template.padID ?? (recipe.family == .gpt2 ? template.separator.first : nil) else {
            throw RecipeError.invalid(recipe.family == .gpt2
                ? "the tokenizer has no \(SequenceTemplate.endOfText) token for GPT-2 to separate documents and pad with; add it as a special token"
                : "the tokenizer has no padding token ([PAD] or <pad>); train one with the recipe or add it")
        }
        let config = try recipe.encoderConfiguration(vocabSize: tokenizer.vocabularySize, padID: Int(padID))
        let objectives = try PretrainingObjectives(recipe: recipe, config: config, maskTokenID: template.maskID)
        let trainStream: InstanceStream, heldoutStream: InstanceStream?
        var retrieval: CrossLingualRetrieval?
        switch data {
        case .translation(let verses):
            let pairs = try TranslationCorpus(verses: verses, heldoutBooks: recipe.heldoutBooks, tokenizer: tokenizer)
            report("parallel corpus: \(pairs.train.count) training verse pairs, \(pairs.heldout.count) held out (\(recipe.heldoutBooks.joined(separator: ", ")))")
            let masking = try recipe.maskingConfig(template: template)
            trainStream = TranslationInstanceStream(pairs: pairs.train, template: template, length: recipe.seqLen, positionOffset: config.positionOffset,
                                                    masking: masking, seed: recipe.seed, batchSize: recipe.batchSize, translationRatio: recipe.tlmRatio)
            heldoutStream = TranslationInstanceStream(pairs: pairs.heldout, template: template, length: recipe.seqLen, positionOffset: config.positionOffset,
                                                      masking: masking, seed: recipe.seed &+ 1, batchSize: recipe.batchSize,
                                                      translationRatio: recipe.tlmRatio, fixed: true)
            retrieval = CrossLingualRetrieval(pairs: pairs.heldout, template: template, length: recipe.seqLen,
                                              positionOffset: config.positionOffset, padID: padID)
        case .shards(let train, let heldout):
            trainStream = try CorpusInstanceStream(corpus: train, recipe: recipe, template: template, seed: recipe.seed)
            // Held-out instances: one fixed epoch, masked with a seed of their own.
            heldoutStream = try heldout.map { try CorpusInstanceStream(corpus: $0, recipe: recipe, template: template, seed: recipe.seed &+ 1, fixed: true) }
        }
        trainer = Trainer(recipe: recipe, objectives: objectives, stream: trainStream, heldout: heldoutStream,
                          runFolder: folder, padID: padID, group: group)
        trainer.report = report
        if case .shards(_, let heldout?) = data, let crossTask = recipe.sentenceTask.other, let model = objectives.model {
            // ALBERT's Table 5: the sentence head is also scored on the other task's held-out pairs
            // (NSP-trained on SOP, SOP-trained on NSP); both label a consecutive, in-order pair 0.
            let crossKind: ObjectiveKind = crossTask == .nsp ? .nsp : .sop
            var crossRecipe = recipe
            crossRecipe.objectives = recipe.objectives.map { $0 == .nsp || $0 == .sop ? crossKind : $0 }
            let stream = try CorpusInstanceStream(corpus: heldout, recipe: crossRecipe, template: template, seed: recipe.seed &+ 1, fixed: true)
            let cross = try PretrainingObjectives(model: model, objectives: [try SentencePairPrediction(task: crossTask, model: model)])
            let trainer = self.trainer
            trainer.additionalEvaluation = { [unowned trainer] in
                let means = try trainer.statistics(of: cross, on: stream).0.means
                return means.filter { $0.key.hasPrefix(crossTask.rawValue + "_") }
            }
        }
        if let retrieval, let encoder = objectives.model?.encoder {
            // Each held-out English verse finds its Spanish translation among all held-out verses.
            trainer.additionalEvaluation = {
                let (forward, backward) = try retrieval.accuracy(encoder: encoder)
                return ["retrieval_top1": forward, "retrieval_top1_reverse": backward, "retrieval_chance": 1 / Double(retrieval.pairs.count)]
            }
        }
        if resume { try trainer.resume() }
    }

    /// Prepares (once) and opens the training and held-out shards. Documents go to the held-out
    /// side by a hash of their index, so the split does not depend on corpus order elsewhere.
    static func shards(recipe: Recipe, corpus: CorpusOptions, tokenizer: Tokenizer, folder: URL,
                       report: (String) -> Void) throws -> (ShardedCorpus, ShardedCorpus?) {
        let data = folder.appendingPathComponent("data")
        let trainFolder = data.appendingPathComponent("train"), heldoutFolder = data.appendingPathComponent("heldout")
        let manifest = ShardManifest.fileName
        let ready = FileManager.default.fileExists(atPath: trainFolder.appendingPathComponent(manifest).path)
            && FileManager.default.fileExists(atPath: heldoutFolder.appendingPathComponent(manifest).path)
        if !ready {
            func isHeldout(_ index: Int) -> Bool {
                var x = UInt64(index) &+ 0x9E37_79B9_7F4A_7C15
                x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
                x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
                x ^= x >> 31
                return Double(x % 1_000_000) < recipe.heldoutFraction * 1_000_000
            }
            for (side, target) in [(false, trainFolder), (true, heldoutFolder)] {
                let stream = try documents(files: corpus.files, format: corpus.format, textField: corpus.textField)
                var index = -1
                let summary = try prepareShards(nextDocument: {
                    while let document = try stream.nextDocument() {
                        index += 1
                        if isHeldout(index) == side { return document }
                    }
                    return nil
                }, tokenizer: tokenizer, outputDirectory: target, options: PrepareOptions(allowsEmpty: side))
                report(String(format: "prepared %@: %d documents, %d sentences, %d tokens (%.0fk tokens/s)%@",
                              side ? "held-out" : "training", summary.documents, summary.sentences, summary.tokens,
                              summary.tokensPerSecond / 1000,
                              stream.statistics.invalidUTF8Lines > 0 ? ", \(stream.statistics.invalidUTF8Lines) invalid UTF-8 lines skipped" : ""))
            }
        }
        let train = try ShardedCorpus.open(directory: trainFolder, tokenizer: tokenizer)
        guard train.documentCount > 0 else { throw CorpusError.emptyCorpus(description: corpus.files.joined(separator: ", ")) }
        // A small corpus may hold nothing out (its held-out manifest lists no shard).
        guard try ShardManifest.read(from: heldoutFolder.appendingPathComponent(manifest)).documents > 0 else {
            if recipe.evalEvery > 0 {
                report("warning: no document was held out (\(train.documentCount) documents, heldout_fraction \(recipe.heldoutFraction)): no held-out evaluation. Separate documents with blank lines, or raise heldout_fraction.")
            }
            return (train, nil)
        }
        return (train, try ShardedCorpus.open(directory: heldoutFolder, tokenizer: tokenizer))
    }

    /// Writes the Hugging Face model folders (`RUN_DIR/model/`, and for ELECTRA `RUN_DIR/generator/`),
    /// each with the run's tokenizer, and the plots; returns the folders.
    @discardableResult
    public func export() throws -> [URL] {
        var folders: [URL] = []
        for export in trainer.objectives.exports {
            let url = folder.appendingPathComponent(export.folder)
            try export.model.save(folder: url, strippingPrefix: export.checkpointPrefix)
            try tokenizer.save(to: url.appendingPathComponent("tokenizer.json"))
            folders.append(url)
        }
        try writeRunPlots(runFolder: folder)
        return folders
    }
}
