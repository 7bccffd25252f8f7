import Autodiff
import Collectives
import Foundation
import Tensors

/// Data-parallel training over the processes of an `mpirun` job (or one process, where every
/// method is the identity): the same model on every rank, each rank a fixed slice of every
/// global batch, gradients summed across ranks before clipping and the optimizer step.
///
/// The rules, shared by pretraining and fine-tuning:
/// - **Slices**: a micro-batch of B rows is split in rank order; rank r takes rows
///   [r·B/N, (r+1)·B/N) (``share(of:)``). Every rank walks the same data positions, so the
///   instances and their order are those one process reads.
/// - **Normalisers** are global: each rank's loss divides by counts summed over all ranks
///   (``sum(_:)-([[Int]])``), so the ranks' gradients add up to the one-process gradient exactly
///   (up to the order of float additions). Gradients are therefore *summed*, not averaged.
/// - **Gradients** live in one ``FlatGradients`` buffer, summed in buckets of about
///   ``bucketBytes`` (whole parameters, in a fixed order: the buffer's end first) after the last
///   backward — or, with ``overlapsBackward``, each bucket started (MPI_Iallreduce) as soon as the
///   last backward pass has finished its gradients, while the pass goes on. Clipping and the
///   optimizer then run on identical numbers on every rank.
/// - **Draws**: dropout seeds (and ELECTRA's samples) are mixed with the rank, so ranks draw
///   independently; with one process the seeds are exactly those of before.
public final class DataParallel {
    public let group: ProcessGroup
    public let gradients: FlatGradients
    /// The size of a bucket (4 MB: few calls, so the per-call latency is paid rarely, each well
    /// inside the shared-memory transport's buffers). A parameter larger than this is a bucket of its own.
    public let bucketBytes: Int
    /// Start each bucket's sum during the last backward pass (see ``watch(_:)``).
    public var overlapsBackward = false
    /// Time and bytes of the last step's collectives: the wait for the slowest rank (blocking sums
    /// only) and the time inside the sums.
    public private(set) var lastTraffic = (waitSeconds: 0.0, reduceSeconds: 0.0, bytes: 0)

    /// Element ranges of the flat buffer, whole parameters each, in buffer order.
    let buckets: [Range<Int>]
    private let bucketOfParameter: [ObjectIdentifier: Int]
    private var unfinished: [Int] = []
    /// The next bucket to start (they start from the last down, the same order on every rank).
    private var nextBucket = -1
    private let pending = ProcessGroup.PendingSums()

    public init(parameters: [Parameter], group: ProcessGroup = .world, bucketBytes: Int = 4 << 20) {
        self.group = group
        self.bucketBytes = bucketBytes
        gradients = FlatGradients(parameters)
        var buckets: [Range<Int>] = [], owner: [ObjectIdentifier: Int] = [:], start = 0
        for (i, p) in gradients.parameters.enumerated() {
            let end = i + 1 < gradients.offsets.count ? gradients.offsets[i + 1] : gradients.count
            owner[ObjectIdentifier(p)] = buckets.count
            if (end - start) * MemoryLayout<Float>.stride >= bucketBytes || i + 1 == gradients.parameters.count {
                buckets.append(start..<end)
                start = end
            }
        }
        self.buckets = buckets
        bucketOfParameter = owner
    }

    public var isDistributed: Bool { group.isDistributed }
    public var isLeader: Bool { group.isLeader }

    /// The rows of a `size`-row micro-batch this rank computes.
    public func share(of size: Int) -> Range<Int> {
        (group.rank * size / group.size)..<((group.rank + 1) * size / group.size)
    }

    /// Fails unless every rank gets at least one row of a `size`-row micro-batch.
    public func checkSplits(batchSize size: Int, what: String) throws {
        guard size >= group.size else {
            throw DataParallelError.batchTooSmall(what: what, batch: size, ranks: group.size)
        }
    }

    /// A per-rank variant of `seed` (the seed itself on one process or on rank 0).
    public func rankSeed(_ seed: UInt64) -> UInt64 {
        group.rank == 0 ? seed : seed ^ (0x9E37_79B9_7F4A_7C15 &* UInt64(group.rank))
    }

    /// Normaliser counts summed over the ranks.
    public func sum(_ counts: [[Int]]) -> [[Int]] {
        guard isDistributed else { return counts }
        let flat = group.sum(counts.flatMap { $0.map(Double.init) })
        var out: [[Int]] = [], k = 0
        for row in counts {
            out.append(row.indices.map { i in Int(flat[k + i]) })
            k += row.count
        }
        return out
    }

    /// Statistics summed over the ranks (the union of their metric names).
    public func sum(_ stats: ObjectiveStatistics) -> ObjectiveStatistics {
        guard isDistributed else { return stats }
        let mine = stats.totals.keys.sorted().joined(separator: "\n")
        var names = Set<String>()
        for bytes in group.allGather(Array(mine.utf8)) where !bytes.isEmpty {
            for name in String(decoding: bytes, as: UTF8.self).split(separator: "\n") { names.insert(String(name)) }
        }
        let keys = names.sorted()
        var values = [stats.loss, Double(stats.tokens), Double(stats.positions), stats.forwardFLOPs]
        for key in keys { values += [stats.totals[key] ?? 0, stats.counts[key] ?? 0] }
        let summed = group.sum(values)
        var out = ObjectiveStatistics()
        out.loss = summed[0]
        out.tokens = Int(summed[1])
        out.positions = Int(summed[2])
        out.forwardFLOPs = summed[3]
        for (i, key) in keys.enumerated() { out.add(key, summed[4 + 2 * i], over: Int(summed[5 + 2 * i])) }
        return out
    }

    /// With ``overlapsBackward``, makes the last backward pass of a step (`tape`) start each
    /// bucket's sum once every gradient in it is final (``Tape/gradientIsFinal``).
    public func watch(_ tape: Tape) {
        guard isDistributed, overlapsBackward else { return }
        _ = group.takeTraffic()
        unfinished = [Int](repeating: 0, count: buckets.count)
        for p in gradients.parameters { unfinished[bucketOfParameter[ObjectIdentifier(p)] ?? 0] += 1 }
        nextBucket = buckets.count - 1
        tape.gradientIsFinal = { [unowned self] p in
            guard let b = bucketOfParameter[ObjectIdentifier(p)] else { return }
            unfinished[b] -= 1
            startReadyBuckets(all: false)
        }
    }

    private func startReadyBuckets(all: Bool) {
        while nextBucket >= 0 && (all || unfinished[nextBucket] <= 0) {
            let range = buckets[nextBucket]
            group.startSum(gradients.pointer + range.lowerBound, count: range.count, into: pending)
            nextBucket -= 1
        }
        group.progress(pending)
    }

    /// Sums the gradients over the ranks: finishes the sums ``watch(_:)`` started (starting any
    /// bucket the pass never finished, e.g. parameters the last micro-batch did not use), or
    /// waits (timed apart) for the slowest rank and sums every bucket.
    public func sumGradients() {
        guard isDistributed else { return }
        if nextBucket >= 0 || !pending.isEmpty {
            startReadyBuckets(all: true)
            group.wait(pending)
            let traffic = group.takeTraffic()
            lastTraffic = (0, traffic.seconds, traffic.bytes)
            return
        }
        _ = group.takeTraffic()
        let start = DispatchTime.now().uptimeNanoseconds
        group.barrier()
        let arrived = DispatchTime.now().uptimeNanoseconds
        for range in buckets.reversed() {
            group.sum(gradients.pointer + range.lowerBound, count: range.count)
        }
        let traffic = group.takeTraffic()
        lastTraffic = (Double(arrived - start) / 1e9, traffic.seconds, traffic.bytes)
    }

    /// The step's seconds as the slowest rank counts them (every rank then stops at the same step).
    public func slowest(_ seconds: Double) -> Double {
        isDistributed ? group.maximum([seconds])[0] : seconds
    }

    /// Fails unless every rank holds the same parameter bits (at a checkpoint: the ranks step on
    /// their own copies, which stay equal only while every sum hands every rank the same bits).
    public func checkInSync(_ parameters: [Parameter], step: Int) throws {
        guard isDistributed else { return }
        var hash = StableHash()
        for p in parameters { hash.combine(p.value.data, count: p.value.count) }
        let hashes = group.allGather(Array(String(hash.value).utf8)).map { String(decoding: $0, as: UTF8.self) }
        let differing = hashes.indices.filter { hashes[$0] != hashes[0] }
        guard differing.isEmpty else { throw DataParallelError.ranksDrifted(step: step, ranks: differing) }
    }

    /// Makes every rank hold rank 0's parameter values, and fails if a rank had built others
    /// (another recipe, seed or binary) or stands elsewhere in the run (`state` differs).
    public func synchronize(_ parameters: [Parameter], state: String) throws {
        guard isDistributed else { return }
        var hash = StableHash()
        for p in parameters { hash.combine(p.value.data, count: p.value.count) }
        let mine = "\(hash.value) \(state)"
        let leader = String(decoding: group.broadcast(Array(mine.utf8)), as: UTF8.self)
        for p in parameters { group.broadcast(p.value.data, count: p.value.count) }
        // Every rank learns whether any rank differed, so all fail together rather than some waiting.
        let differs = group.sum([mine == leader ? 0 : 1])[0]
        guard differs == 0 else { throw DataParallelError.ranksDiffer(rank: group.rank, mine: mine, leader: leader, ranks: Int(differs)) }
    }
}

/// FNV-1a over the bits of float buffers: the same on every machine and run (Swift's `Hasher` is seeded per process).
struct StableHash {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func combine(_ p: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            value = (value ^ UInt64(p[i].bitPattern)) &* 0x100_0000_01b3
        }
    }
}

/// A data-parallel job that cannot run as asked.
public enum DataParallelError: Error, CustomStringConvertible, Equatable {
    case batchTooSmall(what: String, batch: Int, ranks: Int)
    case ranksDiffer(rank: Int, mine: String, leader: String, ranks: Int)
    case ranksDrifted(step: Int, ranks: [Int])

    public var description: String {
        switch self {
        case let .batchTooSmall(what, batch, ranks):
            return "\(what) \(batch) cannot be split over \(ranks) ranks (each needs at least one row); raise it to at least \(ranks) or start fewer ranks"
        case let .ranksDiffer(rank, mine, leader, ranks):
            return "\(ranks) rank(s) built a different model or stand elsewhere in the run than rank 0 (rank \(rank): \(mine), rank 0: \(leader)); every rank must run the same binary, recipe, seed and run folder"
        case let .ranksDrifted(step, ranks):
            return "at step \(step) the parameters of rank(s) \(ranks.map(String.init).joined(separator: ", ")) differ from rank 0's: the gradient sums did not give every rank the same bits (an MPI reduction that is not deterministic across ranks); the last checkpoint is intact — set OMPI_MCA_coll_tuned_use_dynamic_rules=1 OMPI_MCA_coll_tuned_allreduce_algorithm=4 (ring) and --resume"
        }
    }
}
