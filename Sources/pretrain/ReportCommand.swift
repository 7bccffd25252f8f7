import ArgumentParser
import Foundation
import ModelConfig
import Training

/// `pretrain report`: one Markdown table comparing pretraining runs — the recipe, steps, tokens/s,
/// training FLOPs and every held-out accuracy their objectives logged (first → last evaluation),
/// and each run's plots refreshed; `--plot` draws a held-out metric against training FLOPs.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "A Markdown table of pretraining runs' held-out metrics (and their plots refreshed).")

    @Argument(help: "Run folders (written by `pretrain train`).") var runs: [String]
    @Option(help: "Also write an SVG of this held-out metric against training FLOPs for every run.") var plot: String?
    @Option(help: "The metric --plot draws.") var metric: String = "mlm_accuracy"

    func run() throws {
        try reportingErrors {
            let folders = runs.map { URL(fileURLWithPath: $0) }
            let loaded = try folders.map { folder -> (URL, Recipe, [[String: Any]]) in
                let recipe = try Recipe.parse(Data(contentsOf: folder.appendingPathComponent("recipe.json")), source: folder.path)
                let records = MetricsLog.read(folder.appendingPathComponent("metrics.jsonl"))
                guard !records.isEmpty else { throw ValidationError("\(folder.path) has no metrics.jsonl lines; is it a run folder?") }
                return (folder, recipe, records)
            }
            // Columns: every held-out accuracy (and cross-lingual retrieval) any run logged, then perplexity.
            var accuracies = Set<String>()
            for (_, _, records) in loaded {
                for r in records where r["split"] as? String == "eval" { for key in r.keys where key.hasSuffix("_accuracy") || key.hasPrefix("retrieval_top1") { accuracies.insert(key) } }
            }
            let columns = accuracies.sorted()
            print("| run | recipe | model | steps | train tok/s | train FLOPs | " + columns.map { "\($0) (first → last)" }.joined(separator: " | ")
                  + " | perplexity |")
            print("|" + [String](repeating: "---|", count: 7 + columns.count).joined())
            for (folder, recipe, records) in loaded {
                let evals = records.filter { $0["split"] as? String == "eval" }
                let train = records.filter { $0["split"] as? String == "train" }
                func value(_ r: [String: Any]?, _ key: String, _ format: String = "%.3f") -> String {
                    (r?[key] as? Double).map { String(format: format, $0) } ?? "–"
                }
                let speeds = train.dropFirst(min(2, max(0, train.count - 1))).compactMap { $0["tokens_per_s"] as? Double }
                let speed = speeds.isEmpty ? "–" : String(format: "%.0f", speeds.reduce(0, +) / Double(speeds.count))
                let steps = (train.last?["step"] as? Int).map(String.init) ?? "–"
                let flops = (records.last?["train_flops"] as? Double).map { String(format: "%.3g", $0) } ?? "–"
                let cells = columns.map { key in
                    evals.first?[key] == nil ? "–" : "\(value(evals.first, key)) → \(value(evals.last, key))"
                }
                // The exported model's shape when there is one (a distillation student is made from
                // its teacher, not from the recipe's `model`).
                let model = (try? ConfigFile.load(from: folder.appendingPathComponent("model/config.json"))).map {
                    "\($0.encoder.family.rawValue) L\($0.encoder.layers) H\($0.encoder.hiddenSize)"
                } ?? recipe.model
                print("| \(folder.lastPathComponent) | \(recipe.name) | \(model) | \(steps) | \(speed) | \(flops) | "
                      + cells.joined(separator: " | ") + " | \(value(evals.last, "perplexity", "%.1f")) |")
                try writeRunPlots(runFolder: folder)
            }
            if let plot {
                try computeChart(runFolders: folders, metric: metric).svg().write(toFile: plot, atomically: true, encoding: .utf8)
            }
        }
    }
}
