import ArgumentParser
import Foundation
import Training

/// `pretrain report`: one Markdown table comparing pretraining runs — the recipe, steps, tokens/s
/// and the held-out metrics of the first and last evaluation — and each run's plots refreshed.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "A Markdown table of pretraining runs' held-out metrics (and their plots refreshed).")

    @Argument(help: "Run folders (written by `pretrain train`).") var runs: [String]

    func run() throws {
        try reportingErrors {
            print("| run | recipe | model | steps | train tok/s | held-out MLM acc (first → last) | unigram baseline | perplexity | NSP/SOP acc | SBO acc |")
            print("|---|---|---|---|---|---|---|---|---|---|")
            for path in runs {
                let folder = URL(fileURLWithPath: path)
                let recipe = try Recipe.parse(Data(contentsOf: folder.appendingPathComponent("recipe.json")), source: path)
                let records = MetricsLog.read(folder.appendingPathComponent("metrics.jsonl"))
                guard !records.isEmpty else { throw ValidationError("\(path) has no metrics.jsonl lines; is it a run folder?") }
                let evals = records.filter { $0["split"] as? String == "eval" }
                let train = records.filter { $0["split"] as? String == "train" }
                func value(_ r: [String: Any]?, _ key: String, _ format: String = "%.3f") -> String {
                    (r?[key] as? Double).map { String(format: format, $0) } ?? "–"
                }
                let speeds = train.dropFirst(min(2, max(0, train.count - 1))).compactMap { $0["tokens_per_s"] as? Double }
                let speed = speeds.isEmpty ? "–" : String(format: "%.0f", speeds.reduce(0, +) / Double(speeds.count))
                let steps = (train.last?["step"] as? Int).map(String.init) ?? "–"
                print("| \(folder.lastPathComponent) | \(recipe.name) | \(recipe.model) | \(steps) | \(speed) | "
                      + "\(value(evals.first, "mlm_accuracy")) → \(value(evals.last, "mlm_accuracy")) | \(value(evals.last, "unigram_baseline_accuracy")) | "
                      + "\(value(evals.last, "perplexity", "%.1f")) | \(value(evals.last, "sentence_accuracy")) | \(value(evals.last, "sbo_accuracy")) |")
                try writeRunPlots(runFolder: folder)
            }
        }
    }
}
