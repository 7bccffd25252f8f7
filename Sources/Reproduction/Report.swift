import Foundation
import Training

/// Whether a claim held in a reproduction.
public enum Verdict: String, Sendable, Equatable {
    case holds = "holds"
    case notShown = "does not show at this scale"
    case contradicted = "contradicted"
    case incomplete = "incomplete (runs missing)"
}

/// One claim's numbers and verdict, from the summaries of its runs.
public struct ClaimResult: Sendable {
    public struct ArmResult: Sendable {
        public var arm: Arm
        public var values: [Double]
        public var mean: Double { values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count) }
        /// Sample standard deviation (0 for one value).
        public var sd: Double {
            guard values.count > 1 else { return 0 }
            let m = mean
            return (values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count - 1)).squareRoot()
        }
    }

    public var claim: Claim
    public var arms: [ArmResult]
    /// `arm-seedS` of every run with no summary.
    public var missing: [String]
    /// The first arm's advantage over the second (signed so that positive favours the claim) and
    /// its standard error (√(s₁²/n₁ + s₂²/n₂)).
    public var effect: Double
    public var standardError: Double
    public var verdict: Verdict
    /// Why, in words.
    public var reason: String
}

/// `DIR/REPORT.md` from run summaries: per claim the article's statement, what was run, the
/// numbers (mean ± sd over seeds), a verdict and plots.
public enum ReproductionReport {
    /// A claim's result. The verdict follows the numbers: with e the first arm's advantage and s
    /// its standard error, `better` holds when e > 2s and is contradicted when e < −2s;
    /// `notWorse` is contradicted when e < −2s and holds otherwise. Fewer than two seeds per arm
    /// give no spread to judge by: the claim does not show, whatever the means; nor does it when the
    /// reference arm is not above the measure's ``Floor`` by two standard errors. `atLeast(f)` is
    /// judged as `notWorse` against f × the second arm. Arms after the second are not judged.
    public static func result(_ claim: Claim, summaries: [RunSummary], seeds: [Int]) -> ClaimResult {
        var missing: [String] = []
        let arms = claim.arms.map { arm -> ClaimResult.ArmResult in
            var values: [Double] = []
            for seed in seeds {
                if let s = summaries.first(where: { $0.claim == claim.id && $0.arm == arm.name && $0.seed == seed }), let v = s.metrics[claim.measure], v.isFinite {
                    values.append(v)
                } else {
                    missing.append("\(arm.name)-seed\(seed)")
                }
            }
            return ClaimResult.ArmResult(arm: arm, values: values)
        }
        let sign = claim.higherIsBetter ? 1.0 : -1.0
        let (a, b) = (arms[0], arms[1])
        // `atLeast(f)` compares the first arm with f × the second.
        let fraction: Double
        if case .atLeast(let f) = claim.expectation { fraction = f } else { fraction = 1 }
        let effect = (a.mean - fraction * b.mean) * sign
        let se = (a.sd * a.sd / Double(max(1, a.values.count)) + fraction * fraction * b.sd * b.sd / Double(max(1, b.values.count))).squareRoot()
        let verdict: Verdict, reason: String
        let reference = fraction == 1 ? b.arm.name : String(format: "%g × %@", fraction, b.arm.name)
        let shown = String(format: "%@ − %@ = %+.4g ± %.2g (2 standard errors: %.2g)", a.arm.name, reference, effect * sign, se, 2 * se)
        if !missing.isEmpty {
            (verdict, reason) = (.incomplete, "missing runs: \(missing.joined(separator: ", "))")
        } else if a.values.count < 2 || b.values.count < 2 {
            (verdict, reason) = (.notShown, "one seed per arm gives no spread to judge by (\(shown)); run with --seeds 3")
        } else if let (floor, name) = floorLevel(claim, summaries: summaries, seeds: seeds),
                  b.mean - floor <= 2 * b.sd / Double(b.values.count).squareRoot() {
            (verdict, reason) = (.notShown, String(format: "the reference arm %@ (%.4g) is not above %@ (%.4g) by two standard errors, so no learned model is compared (%@)",
                                                   b.arm.name, b.mean, name, floor, shown))
        } else {
            switch claim.expectation {
            case .better:
                if effect > 2 * se { (verdict, reason) = (.holds, "\(a.arm.name) is better by more than two standard errors: \(shown)") }
                else if effect < -2 * se { (verdict, reason) = (.contradicted, "\(a.arm.name) is worse by more than two standard errors: \(shown)") }
                else { (verdict, reason) = (.notShown, "the difference is within two standard errors: \(shown)") }
            case .notWorse, .atLeast:
                if effect < -2 * se { (verdict, reason) = (.contradicted, "\(a.arm.name) is below \(reference) by more than two standard errors: \(shown)") }
                else { (verdict, reason) = (.holds, "\(a.arm.name) is not below \(reference) by more than two standard errors: \(shown)") }
            }
        }
        return ClaimResult(claim: claim, arms: arms, missing: missing, effect: effect, standardError: se, verdict: verdict, reason: reason)
    }

    /// The level of the claim's ``Floor`` for its reference arm (a metric's mean over the arm's
    /// runs) and its name; nil when the claim has none, lower is better, or the claim expects the
    /// reference there.
    static func floorLevel(_ claim: Claim, summaries: [RunSummary], seeds: [Int]) -> (Double, String)? {
        guard claim.higherIsBetter, !claim.referenceExpectedAtFloor, let floor = claim.floor else { return nil }
        switch floor {
        case .chance(let p): return (p, "chance")
        case .metric(let key):
            let values = summaries.filter { $0.claim == claim.id && $0.arm == claim.reference.name && seeds.contains($0.seed) }
                .compactMap { $0.metrics[key] }
            return values.isEmpty ? nil : (values.reduce(0, +) / Double(values.count), key)
        }
    }

    /// The runs' own wall-clock time, summed (a resumed run counts its last part only).
    static func wallTime(_ runs: [RunSummary]) -> String {
        let timed = runs.compactMap(\.seconds)
        guard !timed.isEmpty else { return "" }
        return String(format: "The %d runs took %.0f minutes of wall-clock time on the machine that ran them (%d runs untimed).",
                      runs.count, timed.reduce(0, +) / 60, runs.count - timed.count)
    }

    /// The table of every claim's verdict (and the parameter table's), linking to the sections
    /// of the report at `link` ("" for the report itself).
    public static func summaryTable(_ results: [ClaimResult], link: String) throws -> String {
        var md = "| claim | measure | first arm | second arm | verdict |\n|---|---|---|---|---|\n"
        for r in results {
            md += "| [\(r.claim.title)](\(link)#\(r.claim.id)) | \(r.claim.measure) | \(r.arms[0].arm.name): \(meanAndSpread(r.arms[0])) | "
                + "\(r.arms[1].arm.name): \(meanAndSpread(r.arms[1])) | \(r.verdict.rawValue) |\n"
        }
        return md + (try ParameterTable.markdown(link: link).summary)
    }

    static func meanAndSpread(_ a: ClaimResult.ArmResult) -> String {
        a.values.isEmpty ? "–" : String(format: "%.4g ± %.2g (n=%d)", a.mean, a.sd, a.values.count)
    }

    /// Puts the summary table into `readme` between `<!-- reproduce:begin -->` and
    /// `<!-- reproduce:end -->` (the README's results section is generated, not typed), linking
    /// to `report` relative to the README's folder when it lies inside it.
    public static func updateReadme(_ readme: URL, results: [ClaimResult], report: URL) throws {
        let path = report.standardizedFileURL.path, base = readme.deletingLastPathComponent().standardizedFileURL.path + "/"
        let reportLink = path.hasPrefix(base) ? String(path.dropFirst(base.count)) : path
        let (begin, end) = ("<!-- reproduce:begin -->", "<!-- reproduce:end -->")
        let text = try String(contentsOf: readme, encoding: .utf8)
        guard let b = text.range(of: begin), let e = text.range(of: end), b.upperBound <= e.lowerBound else {
            throw ReproductionError.noReadmeMarkers(readme.path)
        }
        let table = try summaryTable(results, link: reportLink)
        try (text[..<b.upperBound] + "\n" + table + text[e.lowerBound...]).write(to: readme, atomically: true, encoding: .utf8)
    }

    /// Writes `folder/REPORT.md` and `folder/plots/<claim>-{bars,curves}.svg` from the summaries
    /// under `folder/runs`; returns the results.
    @discardableResult
    public static func write(claims: [Claim], budget: Budget, seeds: [Int], folder: URL) throws -> [ClaimResult] {
        let summaries = try RunSummary.all(under: folder.appendingPathComponent("runs"))
        let plots = folder.appendingPathComponent("plots")
        try FileManager.default.createDirectory(at: plots, withIntermediateDirectories: true)
        let results = claims.map { result($0, summaries: summaries, seeds: seeds) }
        var md = """
        # Reproducing the articles' claims at CPU scale

        `pretrain reproduce --budget \(budget.rawValue) --seeds \(seeds.count)` — every claim compares arms of
        recipes on the built-in corpora (reference arm: \(budget.steps) steps), \(seeds.count) seed\(seeds.count == 1 ? "" : "s") each.
        Numbers are mean ± sd over seeds; a verdict needs the difference to exceed two standard errors
        (see `ReproductionReport.result`). Regenerate with the same command (finished runs are kept).
        \(wallTime(summaries.filter { s in claims.contains { $0.id == s.claim } && seeds.contains(s.seed) }))


        """
        md += try summaryTable(results, link: "")
        md += try ParameterTable.markdown(link: "").section
        for r in results {
            let c = r.claim
            md += """

            ## \(c.title)
            <a id="\(c.id)"></a>

            **The article**: \(c.statement) (\(c.source))

            **What we ran** (\(c.compute.rawValue), corpus: \(c.corpus.rawValue)):

            | arm | \(c.measure) | seeds | steps | train FLOPs |
            |---|---|---|---|---|

            """
            for a in r.arms {
                let runs = summaries.filter { $0.claim == c.id && $0.arm == a.arm.name && seeds.contains($0.seed) }
                let steps = runs.map { String($0.steps) }.joined(separator: ", ")
                let flops = runs.map { String(format: "%.2e", $0.trainFLOPs) }.joined(separator: ", ")
                md += "| \(a.arm.label) | \(meanAndSpread(a)) | \(a.values.count) | \(steps.isEmpty ? "–" : steps) | \(flops.isEmpty ? "–" : flops) |\n"
            }
            if let note = c.note { md += "\n**Note**: \(note)\n" }
            for shown in c.alsoShown {
                md += "\nAlso measured (not judged), \(shown): " + r.arms.map { a in
                    let values = summaries.filter { $0.claim == c.id && $0.arm == a.arm.name && seeds.contains($0.seed) }.compactMap { $0.metrics[shown] }
                    return "\(a.arm.name) " + meanAndSpread(ClaimResult.ArmResult(arm: a.arm, values: values))
                }.joined(separator: ", ") + ".\n"
            }
            if let example = summaries.first(where: { $0.claim == c.id }) {
                md += "\nOne run by hand (seed \(example.seed)):\n\n```\n" + ([c.corpus.buildCommand] + example.commands).joined(separator: "\n") + "\n```\n"
            }
            md += "\n**Verdict: \(r.verdict.rawValue)** — \(r.reason).\n"
            let bars = BarChart(title: c.title, yLabel: c.measure,
                                bars: r.arms.map { BarChart.Bar(name: $0.arm.name, value: $0.mean, error: $0.sd) })
            try bars.svg().write(to: plots.appendingPathComponent("\(c.id)-bars.svg"), atomically: true, encoding: .utf8)
            var series: [LineChart.Series] = []
            for (k, a) in r.arms.enumerated() {
                for run in summaries where run.claim == c.id && run.arm == a.arm.name && seeds.contains(run.seed) && !run.curve.isEmpty {
                    series.append(.init(name: "\(a.arm.name) seed \(run.seed)", points: run.curve.map { ($0.flops, $0.value) },
                                        color: chartPalette[k % chartPalette.count]))
                }
            }
            md += "\n![\(c.id) bars](plots/\(c.id)-bars.svg)"
            if let key = c.curveKey, !series.isEmpty {
                try LineChart(title: c.title, xLabel: "training FLOPs", yLabel: "held-out " + key, series: series).svg()
                    .write(to: plots.appendingPathComponent("\(c.id)-curves.svg"), atomically: true, encoding: .utf8)
                md += " ![\(c.id) curves](plots/\(c.id)-curves.svg)"
            }
            md += "\n"
        }
        try md.write(to: folder.appendingPathComponent("REPORT.md"), atomically: true, encoding: .utf8)
        return results
    }
}
