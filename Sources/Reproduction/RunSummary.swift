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

    public struct CurvePoint: Codable, Equatable, Sendable {
        public var flops: Double
        public var value: Double
        public init(flops: Double, value: Double) { (self.flops, self.value) = (flops, value) }
    }

    public init(claim: String, arm: String, seed: Int, commands: [String], steps: Int, trainFLOPs: Double,
                metrics: [String: Double], curve: [CurvePoint] = []) {
        (self.claim, self.arm, self.seed, self.commands, self.steps) = (claim, arm, seed, commands, steps)
        (self.trainFLOPs, self.metrics, self.curve) = (trainFLOPs, metrics, curve)
    }

    enum CodingKeys: String, CodingKey { case claim, arm, seed, commands, steps, trainFLOPs = "train_flops", metrics, curve }

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

    public var description: String {
        switch self {
        case let .badSummary(path, reason):
            return "\(path) is not a run summary (\(reason)); delete it and run `pretrain reproduce` again to redo that run"
        case let .unknownClaim(name, known):
            return "no claim '\(name)'; the claims are \(known.joined(separator: ", ")) (`pretrain reproduce --list`)"
        }
    }
}
