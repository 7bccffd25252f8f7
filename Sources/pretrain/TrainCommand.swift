import ArgumentParser
import Collectives
import Foundation
import PretrainingData
import Tensors
import Training

/// `pretrain recipe list|show`: the shipped recipes and the effective configuration of one.
struct RecipeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recipe", abstract: "List recipes or print a recipe's effective configuration.",
        subcommands: [RecipeList.self, RecipeShow.self])
}

struct RecipeList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Names and descriptions of the recipes in recipes/.")

    func run() throws {
        for name in Recipe.availableNames() {
            let text: String
            do { text = try Recipe.load(name, validated: false).description } catch { text = "(\(error))" }
            print(name.padding(toLength: 12, withPad: " ", startingAt: 0) + text)
        }
    }
}

struct RecipeShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Print a recipe with overrides applied, as JSON.")

    @Argument(help: "A recipe name (recipes/NAME.json) or a recipe file.") var recipe: String
    @Option(name: .customLong("set"), help: "Override a setting: key=value (repeatable).") var overrides: [String] = []

    func run() throws {
        try reportingErrors { print(try Recipe.load(recipe, overrides: overrides).json()) }
    }
}

/// Prints an error's description and exits with status 1 (no stack trace, no crash).
func reportingErrors(_ body: () throws -> Void) throws {
    do { try body() } catch let error as ExitCode {
        throw error
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

/// `pretrain train`: a pretraining run from a recipe (see recipes/ and `pretrain recipe show`).
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Pretrain an encoder: tokenizer, shards, training, evaluation, checkpoints and export.")

    @Option(help: "A recipe name (bert, roberta, albert, spanbert, electra; see `pretrain recipe list`) or a recipe file (not needed with --resume).")
    var recipe: String?
    @Option(parsing: .upToNextOption, help: "Corpus files (one sentence per line, blank line between documents; see --format).")
    var corpus: [String] = []
    @Option(help: "Corpus format: text, folder, jsonl or parallel (`pretrain corpus parallel`; recipes with format translation read it whatever this says).") var format: CorpusFormat = .text
    @Option(help: "JSONL field holding the text.") var textField: String = "text"
    @Option(help: "The run folder (metrics.jsonl, checkpoints/, model/, plots).") var out: String
    @Option(name: .customLong("set"), help: "Override a recipe setting: key=value (repeatable; `pretrain recipe show` lists them).")
    var overrides: [String] = []
    @Flag(help: "Continue the run in --out from its newest valid checkpoint (bit for bit).") var resume = false

    func run() throws {
        try reportingErrors {
            // Under mpirun rank 0 speaks for the job (every rank still prints its own errors).
            let world = ProcessGroup.world
            let report: (String) -> Void = world.isLeader ? { FileHandle.standardError.write(Data(($0 + "\n").utf8)) } : { _ in }
            // A resumed run starts from its own recipe.json; otherwise the named recipe.
            guard resume || recipe != nil else { throw ValidationError("give --recipe NAME|FILE (or --resume to continue the run in --out)") }
            let base = try recipe.map { try Recipe.load($0, overrides: overrides) } ?? Recipe()
            let run = try PretrainingRun(recipe: base, overrides: overrides,
                                         corpus: .init(files: corpus, format: format, textField: textField),
                                         folder: URL(fileURLWithPath: out), resume: resume, report: report)
            let r = run.recipe
            let trained = run.trainer.objectives.exports.first.map { "\($0.model.architecture) L\($0.model.config.layers) H\($0.model.config.hiddenSize)" } ?? r.model
            report("recipe \(r.name): \(trained), objectives \(r.objectives.map(\.rawValue).joined(separator: "+")), "
                   + (r.masksTokens ? "\(r.masking.rawValue) masking (\(r.maskMode.rawValue)), " : "")
                   + (r.objectives.contains(.plm) ? String(format: "permutation targets (%.3g of the tokens, spans of 1-%d), ", r.plmProbability, r.maxSpanLength) : "")
                   + (r.format == .translation ? String(format: "tlm_ratio %g, ", r.tlmRatio) : "") + "format \(r.format.rawValue), batch \(r.batchSize)×\(r.gradAccum), "
                   + "\(r.maxSteps) steps, \(run.trainer.objectives.parameterCount) parameters"
                   + (world.isDistributed ? ", \(world.size) ranks × \(Threading.threadCount) threads" : ""))
            try run.trainer.train()
            guard world.isLeader else { return }
            let folders = try run.export()
            if let last = MetricsLog.read(run.folder.appendingPathComponent("metrics.jsonl")).last(where: { $0["split"] as? String == "eval" }) {
                let shown = last.keys.filter { $0 != "step" && $0 != "split" && $0 != "train_flops" }.sorted()
                    .compactMap { key in (last[key] as? Double).map { String(format: "%@ %.4g", key, $0) } }
                report("held-out: " + shown.joined(separator: ", "))
            }
            report("models: \(folders.map(\.path).joined(separator: ", "))  plots: \(run.folder.appendingPathComponent("loss.svg").path), \(run.folder.appendingPathComponent("accuracy.svg").path)")
        }
    }
}

extension CorpusFormat: ExpressibleByArgument {}
