import Foundation

/// What a finished run of `pretrain reproduce` keeps: a few numbers and the commands that made
/// them, in `DIR/runs/<claim>/<arm>-seed<S>/summary.json` — small enough to commit, so a report
/// can be rebuilt on another machine without the run folders (checkpoints are never kept).
public struct RunSummary: Codable, Equatable, Sendable {
    public var claim: String
    public var arm: String
    public var seed: Int
    /// The `pretrain` command lines that reproduce the run by hand.
    public var commands: [String]
    public var steps: Int
    public var trainFLOPs: Double
    /// The claim's measurements by name (`heldout_mlm_accuracy`, `retrieval_top1`, …).
    public var metrics: [String: Double]
    /// The primary held-out metric over training: (train FLOPs, value) at every evaluation.
    public var curve: [CurvePoint]
    /// Wall-clock seconds of the run: pretraining, export and fine-tuning (of its last part if it was
    /// resumed; nil in older summaries).
    public var seconds: Double?

    public struct CurvePoint: Codable, Equatable, Sendable {
        public var flops: Double
        public var value: Double
        public init(flops: Double, value: Double) { (self.flops, self.value) = (flops, value) }
    }

    public init(claim: String, arm: String, seed: Int, commands: [String], steps: Int, trainFLOPs: Double,
                metrics: [String: Double], curve: [CurvePoint] = [], seconds: Double? = nil) {
        (self.claim, self.arm, self.seed, self.commands, self.steps) = (claim, arm, seed, commands, steps)
        (self.trainFLOPs, self.metrics, self.curve, self.seconds) = (trainFLOPs, metrics, curve, seconds)
    }

    enum CodingKeys: String, CodingKey { case claim, arm, seed, commands, steps, trainFLOPs = "train_flops", metrics, curve, seconds }

    public static let fileName = "summary.json"

    /// Writes the summary atomically (a run cut while writing leaves no half file).
    public func write(to folder: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try encoder.encode(self).write(to: folder.appendingPathComponent(Self.fileName), options: .atomic)
    }

    /// Every summary under `folder` (recursively), by path.
    public static func all(under folder: URL) throws -> [RunSummary] {
        guard let walk = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) else { return [] }
        var found: [(String, RunSummary)] = []
        for case let url as URL in walk where url.lastPathComponent == fileName {
            do { found.append((url.path, try JSONDecoder().decode(RunSummary.self, from: Data(contentsOf: url)))) } catch {
                throw ReproductionError.badSummary(path: url.path, reason: "\(error)")
            }
        }
        return found.sorted { $0.0 < $1.0 }.map(\.1)
    }
}

/// What stops a reproduction.
public enum ReproductionError: Error, CustomStringConvertible, Equatable {
    case badSummary(path: String, reason: String)
    case unknownClaim(String, known: [String])
    case badClaim(String, reason: String)
    case missingTeacher(String)
    case runsFailed([String])
    case badCorpus(String)
    case noReadmeMarkers(String)

    public var description: String {
        switch self {
        case let .badSummary(path, reason):
            return "\(path) is not a run summary (\(reason)); delete it and run `pretrain reproduce` again to redo that run"
        case let .badClaim(name, reason):
            return "claim \(name) is malformed: \(reason)"
        case let .noReadmeMarkers(path):
            return "\(path) has no <!-- reproduce:begin --> … <!-- reproduce:end --> lines; add them where the results table belongs"
        case let .badCorpus(reason):
            return "cannot build the claim's corpus: \(reason)"
        case let .runsFailed(failures):
            return "\(failures.count) run(s) failed; the report lists them as missing. Fix the cause and run again (finished runs are kept):\n"
                + failures.joined(separator: "\n")
        case let .missingTeacher(path):
            return "the teacher model \(path) is missing (its summary is there, its model folder is not); delete the teacher's summary.json and run `pretrain reproduce` again to retrain it"
        case let .unknownClaim(name, known):
            return "no claim '\(name)'; the claims are \(known.joined(separator: ", ")) (`pretrain reproduce --list`)"
        }
    }
}
