import Foundation
import Models
import SafeTensors

/// Where the data stream stands: the epoch and the index of the next instance in its order.
public struct DataPosition: Codable, Sendable, Equatable {
    public var epoch: Int
    public var index: Int
    public init(epoch: Int = 0, index: Int = 0) { (self.epoch, self.index) = (epoch, index) }
}

/// Everything besides tensors that a resumed run needs to continue bit for bit.
public struct TrainerState: Codable, Sendable, Equatable {
    /// Optimizer steps taken.
    public var step: Int
    public var optimizerSteps: Int
    public var data: DataPosition
    /// The stream the per-micro-batch dropout seeds are drawn from.
    public var random: RandomGenerator
    /// Wall-clock seconds trained so far (for the time limit and the ETA; not part of the maths).
    public var elapsedSeconds: Double
    /// FNV-1a 64 of each file of the checkpoint, checked before loading.
    public var checksums: [String: String] = [:]
    /// Training FLOPs so far (forward + backward of every network that trains; see `Trainer`).
    public var trainFLOPs: Double = 0
    /// Steps skipped for a non-finite loss or gradient (`on_nonfinite=skip`).
    public var skippedSteps: Int = 0

    public init(step: Int, optimizerSteps: Int, data: DataPosition, random: RandomGenerator, elapsedSeconds: Double,
                trainFLOPs: Double = 0) {
        (self.step, self.optimizerSteps, self.data, self.random, self.elapsedSeconds, self.trainFLOPs) =
            (step, optimizerSteps, data, random, elapsedSeconds, trainFLOPs)
    }

    enum CodingKeys: String, CodingKey { case step, optimizerSteps, data, random, elapsedSeconds, checksums, trainFLOPs, skippedSteps }

    /// Checkpoints written before `trainFLOPs` existed read as 0 FLOPs so far.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        step = try c.decode(Int.self, forKey: .step)
        optimizerSteps = try c.decode(Int.self, forKey: .optimizerSteps)
        data = try c.decode(DataPosition.self, forKey: .data)
        random = try c.decode(RandomGenerator.self, forKey: .random)
        elapsedSeconds = try c.decode(Double.self, forKey: .elapsedSeconds)
        checksums = try c.decodeIfPresent([String: String].self, forKey: .checksums) ?? [:]
        trainFLOPs = try c.decodeIfPresent(Double.self, forKey: .trainFLOPs) ?? 0
        skippedSteps = try c.decodeIfPresent(Int.self, forKey: .skippedSteps) ?? 0
    }
}

/// A checkpoint that failed validation.
public enum CheckpointError: Error, CustomStringConvertible {
    case corrupt(String, reason: String)
    case noValidCheckpoint(String, problems: [String])
    case nonFiniteWeights(parameter: String, step: Int)
    case unwritable(String, reason: String)

    public var description: String {
        switch self {
        case .corrupt(let path, let reason):
            return "checkpoint \(path) is damaged (\(reason))"
        case .noValidCheckpoint(let folder, let problems):
            let detail = problems.isEmpty ? "there is none" : problems.joined(separator: "; ")
            return "no usable checkpoint in \(folder): \(detail). Start the run again without --resume (or into a new --out folder)."
        case .unwritable(let path, let reason):
            return "could not write \(path) (\(reason)); free disk space (or fix the folder's permissions) and continue with --resume"
        case .nonFiniteWeights(let name, let step):
            return "not writing the checkpoint of step \(step): parameter \(name) holds NaN or infinite values; the previous checkpoints are kept. Lower lr and --resume from them."
        }
    }
}

/// Checkpoints of a run: `checkpoints/step-NNNNNNNN/{model,optimizer}.safetensors + state.json`.
/// Each is written into a temporary folder and renamed into place, so a crash leaves either the
/// whole checkpoint or none; file checksums catch later truncation or corruption, and loading falls
/// back to the previous checkpoint with a warning.
public struct CheckpointStore {
    public let folder: URL

    public init(runFolder: URL) { folder = runFolder.appendingPathComponent("checkpoints") }

    /// Checkpoint folders, newest first.
    public func checkpoints() -> [(step: Int, url: URL)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.compactMap { name -> (Int, URL)? in
            guard name.hasPrefix("step-"), let step = Int(name.dropFirst(5)) else { return nil }
            return (step, folder.appendingPathComponent(name))
        }.sorted { $0.0 > $1.0 }
    }

    /// Writes a checkpoint atomically and keeps only the newest `keep`.
    public func save(parameters: [Parameter], optimizer: Optimizer, state: TrainerState, keep: Int) throws {
        // A checkpoint is never written with non-finite weights (it would replace a good one).
        if let bad = parameters.first(where: { $0.value.firstNonFiniteIndex != nil }) {
            throw CheckpointError.nonFiniteWeights(parameter: bad.name, step: state.step)
        }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let name = String(format: "step-%08d", state.step)
        let temporary = folder.appendingPathComponent(".tmp-" + name)
        try? FileManager.default.removeItem(at: temporary)
        try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)

        var weights = SafeTensorsWriter()
        for p in parameters { try weights.add(p.name, shape: p.shape, values: UnsafeBufferPointer(start: p.value.data, count: p.value.count)) }
        try withExtendedLifetime(parameters) { try weights.write(to: temporary.appendingPathComponent("model.safetensors")) }
        var moments = SafeTensorsWriter()
        let tensors = optimizer.stateTensors()
        for (key, t) in tensors.sorted(by: { $0.key < $1.key }) {
            try moments.add(key, shape: t.shape, values: UnsafeBufferPointer(start: t.data, count: t.count))
        }
        try withExtendedLifetime(tensors) { try moments.write(to: temporary.appendingPathComponent("optimizer.safetensors")) }

        var state = state
        state.optimizerSteps = optimizer.stepCount
        for file in ["model.safetensors", "optimizer.safetensors"] {
            state.checksums[file] = try Self.checksum(of: temporary.appendingPathComponent(file))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let stateURL = temporary.appendingPathComponent("state.json")
        try encoder.encode(state).write(to: stateURL, options: .atomic)
        // The state is checksummed too: an edited step or data position is caught like a damaged tensor.
        try Data(try Self.checksum(of: stateURL).utf8).write(to: temporary.appendingPathComponent(Self.stateChecksumFile), options: .atomic)

        let final = folder.appendingPathComponent(name)
        try? FileManager.default.removeItem(at: final)
        try FileManager.default.moveItem(at: temporary, to: final)
        for old in checkpoints().dropFirst(max(1, keep)) { try? FileManager.default.removeItem(at: old.url) }
    }

    /// Loads the newest checkpoint that validates into `parameters` and `optimizer`; damaged ones
    /// are reported through `warn` and skipped.
    public func loadLatest(parameters: [Parameter], optimizer: Optimizer, warn: (String) -> Void) throws -> TrainerState {
        var problems: [String] = []
        for (_, url) in checkpoints() {
            do {
                return try load(url, parameters: parameters, optimizer: optimizer)
            } catch {
                let message = "\(error)"
                problems.append(message)
                warn("warning: \(message); trying the previous checkpoint")
            }
        }
        throw CheckpointError.noValidCheckpoint(folder.path, problems: problems)
    }

    /// Loads one checkpoint after checking its files' checksums.
    public func load(_ url: URL, parameters: [Parameter], optimizer: Optimizer) throws -> TrainerState {
        let stateURL = url.appendingPathComponent("state.json")
        let expectedState = (try? String(contentsOf: url.appendingPathComponent(Self.stateChecksumFile), encoding: .utf8)) ?? "none"
        guard let data = try? Data(contentsOf: stateURL), let state = try? JSONDecoder().decode(TrainerState.self, from: data) else {
            throw CheckpointError.corrupt(url.path, reason: "state.json is missing or unreadable")
        }
        guard (try? Self.checksum(of: stateURL)) == expectedState else {
            throw CheckpointError.corrupt(url.path, reason: "state.json does not match \(Self.stateChecksumFile) (edited or damaged)")
        }
        guard state.step >= 0, state.data.epoch >= 0, state.data.index >= 0, state.skippedSteps >= 0,
              state.optimizerSteps == state.step - state.skippedSteps, state.trainFLOPs.isFinite, state.trainFLOPs >= 0 else {
            throw CheckpointError.corrupt(url.path, reason: "state.json is inconsistent (step \(state.step), optimizer steps \(state.optimizerSteps), skipped \(state.skippedSteps), data position \(state.data.epoch):\(state.data.index))")
        }
        for (file, expected) in state.checksums {
            let found = try? Self.checksum(of: url.appendingPathComponent(file))
            guard found == expected else {
                throw CheckpointError.corrupt(url.path, reason: found == nil ? "\(file) is missing" : "\(file) does not match its checksum (truncated or overwritten)")
            }
        }
        let weights = try SafeTensorsFile(contentsOf: url.appendingPathComponent("model.safetensors"))
        // Validate everything before touching the live parameters, so a failure leaves them intact.
        var values: [(Parameter, Tensor)] = []
        for p in parameters {
            guard weights.contains(p.name), try weights.info(p.name).shape == p.shape else {
                throw CheckpointError.corrupt(url.path, reason: "parameter \(p.name) is missing or has another shape; the checkpoint is from a different model")
            }
            let t = Tensor(uninitialized: p.shape)
            try weights.copyFloats(p.name, into: UnsafeMutableBufferPointer(start: t.data, count: t.count))
            if t.firstNonFiniteIndex != nil {
                throw CheckpointError.corrupt(url.path, reason: "parameter \(p.name) holds NaN or infinite values")
            }
            values.append((p, t))
        }
        let momentsFile = try SafeTensorsFile(contentsOf: url.appendingPathComponent("optimizer.safetensors"))
        var moments: [String: Tensor] = [:]
        for name in momentsFile.names {
            let t = Tensor(uninitialized: try momentsFile.info(name).shape)
            try momentsFile.copyFloats(name, into: UnsafeMutableBufferPointer(start: t.data, count: t.count))
            moments[name] = t
        }
        try optimizer.loadState(moments, stepCount: state.optimizerSteps)
        for (p, t) in values { p.value.data.update(from: t.data, count: t.count) }
        return state
    }

    /// The file holding state.json's checksum.
    static let stateChecksumFile = "state.json.fnv"

    /// FNV-1a 64 over the file's bytes, as hex.
    public static func checksum(of url: URL) throws -> String {
        let data = try Data(contentsOf: url, options: .alwaysMapped)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        data.withUnsafeBytes { raw in
            for byte in raw { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        }
        return String(hash, radix: 16) + ":" + String(data.count)
    }
}
