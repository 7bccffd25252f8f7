import ArgumentParser
import Foundation
import Reproduction

/// `pretrain reproduce`: the articles' claims re-measured by compute-matched runs, and the report.
struct ReproduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reproduce",
        abstract: "Re-run the articles' claims at CPU scale and write DIR/REPORT.md (finished runs are kept; a second run resumes).")

    @Option(help: "Claims to run, comma-separated (default: all; see --list).") var claims: String?
    @Option(help: "quick (300 steps per reference arm: a smoke run), standard (500, three seeds), full (6,000).") var budget: Budget = .standard
    @Option(help: "Seeds per arm (default: 1 for quick, 3 otherwise).") var seeds: Int?
    @Option(help: "The reproduction folder: runs/, plots/, REPORT.md.") var out: String = "runs/reproduce"
    @Flag(help: "List the claims and exit.") var list = false
    @Flag(help: "Only rebuild REPORT.md and the plots from the runs there.") var reportOnly = false
    @Option(help: "Also put the summary table into this README, between <!-- reproduce:begin --> and <!-- reproduce:end -->.") var readme: String?

    func run() throws {
        try reportingErrors {
            if list {
                for c in Claim.all { print(c.id.padding(toLength: 26, withPad: " ", startingAt: 0) + c.title) }
                print("albert-parameters".padding(toLength: 26, withPad: " ", startingAt: 0) + "ALBERT: the seed's parameter table (computed, in every report)")
                return
            }
            let selected = try Claim.select(claims.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? [])
            let folder = URL(fileURLWithPath: out)
            // Progress lines unbuffered: they reach a log file (`… > log &`) as they happen.
            let runner = ReproductionRunner(folder: folder, budget: budget, seeds: seeds,
                                            report: { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) })
            let failures = reportOnly ? [] : runner.run(selected)
            let results = try ReproductionReport.write(claims: selected, budget: budget, seeds: runner.seeds, folder: folder)
            for r in results { print("\(r.claim.id): \(r.verdict.rawValue)") }
            print("report: \(folder.appendingPathComponent("REPORT.md").path)")
            if let readme {
                try ReproductionReport.updateReadme(URL(fileURLWithPath: readme), results: results,
                                                    report: folder.appendingPathComponent("REPORT.md"))
            }
            if !failures.isEmpty { throw ReproductionError.runsFailed(failures) }
        }
    }
}

extension Budget: ExpressibleByArgument {}
