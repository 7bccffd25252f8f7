#if canImport(CMPI)
import CMPI
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

/// The processes of one job: the ranks `mpirun -np N` started, or this process alone.
///
/// ``world`` finds out by itself whether it runs under an MPI launcher (Open MPI's `mpirun` sets
/// `OMPI_COMM_WORLD_SIZE`; PMIx launchers set `PMIX_RANK`) and only then initialises MPI, so a
/// plain `pretrain train` never touches the MPI runtime. Every collective is called from the main
/// thread only (MPI_THREAD_FUNNELED); in a single process each is a no-op.
///
/// Sums are exact functions of their inputs in a fixed order for a fixed number of ranks (Open
/// MPI's reduction of N buffers computes each element once and hands the result to every rank),
/// so every rank receives the same bits and the ranks' parameters never drift apart.
public final class ProcessGroup: @unchecked Sendable {
    /// This process's index, 0..<size. Rank 0 writes every file of a run.
    public let rank: Int
    /// The number of processes.
    public let size: Int
    /// Processes of the job on this machine (they share its cores).
    public let localSize: Int
    /// True when MPI was initialised (under a launcher, even with one rank).
    public let usesMPI: Bool

    /// Seconds spent inside collectives, and the bytes they reduced, since the last ``takeTraffic()``.
    public private(set) var communicationSeconds = 0.0
    public private(set) var reducedBytes = 0

    /// The whole job; the first use initialises MPI when a launcher started this process.
    public static let world = ProcessGroup.detect()

    /// This process alone (what ``world`` is without a launcher).
    public static func single() -> ProcessGroup { ProcessGroup(rank: 0, size: 1, localSize: 1, usesMPI: false) }

    init(rank: Int, size: Int, localSize: Int, usesMPI: Bool) {
        (self.rank, self.size, self.localSize, self.usesMPI) = (rank, size, localSize, usesMPI)
    }

    /// True when this process is one of several.
    public var isDistributed: Bool { size > 1 }
    /// True on the rank that writes files and prints progress.
    public var isLeader: Bool { rank == 0 }

    /// Whether a launcher started this process (the variables Open MPI and PMIx set for it).
    public static var launchedByMPI: Bool {
        let names = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"]
        return names.contains { name in getenv(name) != nil }
    }

    static func detect() -> ProcessGroup {
        guard launchedByMPI else { return single() }
        #if canImport(CMPI)
        var provided: Int32 = 0
        MPI_Init_thread(nil, nil, pretrain_mpi_thread_funneled(), &provided)
        var rank: Int32 = 0, size: Int32 = 1
        MPI_Comm_rank(pretrain_mpi_comm_world(), &rank)
        MPI_Comm_size(pretrain_mpi_comm_world(), &size)
        let local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE").flatMap { Int(String(cString: $0)) } ?? Int(size)
        return ProcessGroup(rank: Int(rank), size: Int(size), localSize: max(1, local), usesMPI: true)
        #else
        fputs("warning: started by an MPI launcher, but this build has no MPI; running as one process\n", stderr)
        return single()
        #endif
    }

    /// Threads per process so that the job's processes on this machine use its cores once each:
    /// `cores / localSize`, and never more than the cores this process may run on (`mpirun`
    /// binds each of up to two ranks to one core unless told `--bind-to none`).
    public func defaultThreads(cores: Int, allowed: Int? = ProcessGroup.allowedCores()) -> Int {
        max(1, min(cores / localSize, allowed ?? cores))
    }

    /// The cores this process's affinity mask allows (Linux: `Cpus_allowed` in /proc/self/status;
    /// Glibc's module does not export `sched_getaffinity`), nil if unknown.
    public static func allowedCores() -> Int? {
        guard let file = fopen("/proc/self/status", "r") else { return nil }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            let text = String(cString: line)
            guard text.hasPrefix("Cpus_allowed:") else { continue }
            let bits = text.dropFirst("Cpus_allowed:".count).filter { $0.isHexDigit }
                .reduce(0) { $0 + (Int(String($1), radix: 16)?.nonzeroBitCount ?? 0) }
            return bits > 0 ? bits : nil
        }
        return nil
    }

    /// Reads and resets the collectives' time and bytes.
    public func takeTraffic() -> (seconds: Double, bytes: Int) {
        defer { (communicationSeconds, reducedBytes) = (0, 0) }
        return (communicationSeconds, reducedBytes)
    }

    private func timed(bytes: Int, _ body: () -> Void) {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        communicationSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        reducedBytes += bytes
    }

    /// Replaces `count` floats at `buffer` by their sum over the ranks (one MPI_Allreduce per
    /// 2³⁰ elements, MPI's counts being 32-bit).
    public func sum(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        guard isDistributed, count > 0 else { return }
        #if canImport(CMPI)
        timed(bytes: count * MemoryLayout<Float>.stride) {
            var start = 0
            while start < count {
                let n = min(1 << 30, count - start)
                MPI_Allreduce(pretrain_mpi_in_place(), buffer + start, Int32(n), pretrain_mpi_float(), pretrain_mpi_sum(), pretrain_mpi_comm_world())
                start += n
            }
        }
        #endif
    }

    /// Sums started with ``startSum(_:count:)`` and not yet waited for.
    public final class PendingSums {
        #if canImport(CMPI)
        var requests: [MPI_Request?] = []
        #endif
        var bytes = 0
        public init() {}
        public var isEmpty: Bool {
            #if canImport(CMPI)
            return requests.isEmpty
            #else
            return true
            #endif
        }
    }

    /// Starts summing `count` floats at `buffer` over the ranks (MPI_Iallreduce) and returns at
    /// once; the buffer must stay untouched until ``wait(_:)``. Every rank must start the same
    /// sums in the same order.
    public func startSum(_ buffer: UnsafeMutablePointer<Float>, count: Int, into pending: PendingSums) {
        guard isDistributed, count > 0 else { return }
        #if canImport(CMPI)
        let start = DispatchTime.now().uptimeNanoseconds
        pending.requests.append(pretrain_mpi_start_float_sum(buffer, Int32(count)))
        pending.bytes += count * MemoryLayout<Float>.stride
        communicationSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        #endif
    }

    /// Lets started sums progress (Open MPI moves their data only inside MPI calls); true when all are done.
    @discardableResult
    public func progress(_ pending: PendingSums) -> Bool {
        #if canImport(CMPI)
        guard !pending.requests.isEmpty else { return true }
        let start = DispatchTime.now().uptimeNanoseconds
        defer { communicationSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        return pending.requests.withUnsafeMutableBufferPointer { pretrain_mpi_test_all(Int32($0.count), $0.baseAddress) } != 0
        #else
        return true
        #endif
    }

    /// Waits until every started sum is done.
    public func wait(_ pending: PendingSums) {
        #if canImport(CMPI)
        guard !pending.requests.isEmpty else { return }
        timed(bytes: pending.bytes) {
            pending.requests.withUnsafeMutableBufferPointer { pretrain_mpi_wait_all(Int32($0.count), $0.baseAddress) }
        }
        pending.requests.removeAll()
        pending.bytes = 0
        #endif
    }

    /// Each value summed over the ranks.
    public func sum(_ values: [Double]) -> [Double] {
        reduce(values, maximum: false)
    }

    /// Each value's maximum over the ranks.
    public func maximum(_ values: [Double]) -> [Double] {
        reduce(values, maximum: true)
    }

    private func reduce(_ values: [Double], maximum: Bool) -> [Double] {
        guard isDistributed, !values.isEmpty else { return values }
        var out = values
        #if canImport(CMPI)
        timed(bytes: values.count * 8) {
            out.withUnsafeMutableBufferPointer { p in
                _ = MPI_Allreduce(pretrain_mpi_in_place(), p.baseAddress, Int32(p.count), pretrain_mpi_double(),
                                  maximum ? pretrain_mpi_max() : pretrain_mpi_sum(), pretrain_mpi_comm_world())
            }
        }
        #endif
        return out
    }

    /// Copies `count` floats at `buffer` from rank `root` to every rank.
    public func broadcast(_ buffer: UnsafeMutablePointer<Float>, count: Int, from root: Int = 0) {
        guard isDistributed, count > 0 else { return }
        #if canImport(CMPI)
        timed(bytes: count * MemoryLayout<Float>.stride) {
            var start = 0
            let chunk = 1 << 24
            while start < count {
                let n = min(chunk, count - start)
                MPI_Bcast(buffer + start, Int32(n), pretrain_mpi_float(), Int32(root), pretrain_mpi_comm_world())
                start += n
            }
        }
        #endif
    }

    /// Rank `root`'s bytes, on every rank (each rank may pass any length; the root's wins).
    public func broadcast(_ bytes: [UInt8], from root: Int = 0) -> [UInt8] {
        guard isDistributed else { return bytes }
        #if canImport(CMPI)
        var count = [Double(bytes.count)]
        count.withUnsafeMutableBufferPointer { p in
            _ = MPI_Bcast(p.baseAddress, 1, pretrain_mpi_double(), Int32(root), pretrain_mpi_comm_world())
        }
        var out = rank == root ? bytes : [UInt8](repeating: 0, count: Int(count[0]))
        out.withUnsafeMutableBytes { p in
            _ = MPI_Bcast(p.baseAddress, Int32(p.count), pretrain_mpi_byte(), Int32(root), pretrain_mpi_comm_world())
        }
        return out
        #else
        return bytes
        #endif
    }

    /// Every rank's bytes, in rank order, on every rank.
    public func allGather(_ bytes: [UInt8]) -> [[UInt8]] {
        guard isDistributed else { return [bytes] }
        #if canImport(CMPI)
        var lengths = [Int32](repeating: 0, count: size)
        var mine = Int32(bytes.count)
        MPI_Allgather(&mine, 1, pretrain_mpi_int(), &lengths, 1, pretrain_mpi_int(), pretrain_mpi_comm_world())
        var displacements = [Int32](repeating: 0, count: size)
        for r in 1..<size { displacements[r] = displacements[r - 1] + lengths[r - 1] }
        var all = [UInt8](repeating: 0, count: Int(lengths.reduce(0, +)))
        var send = bytes
        send.withUnsafeMutableBytes { s in
            all.withUnsafeMutableBytes { a in
                _ = MPI_Allgatherv(s.baseAddress, mine, pretrain_mpi_byte(), a.baseAddress, lengths, displacements,
                                   pretrain_mpi_byte(), pretrain_mpi_comm_world())
            }
        }
        return (0..<size).map { r in Array(all[Int(displacements[r])..<Int(displacements[r] + lengths[r])]) }
        #else
        return [bytes]
        #endif
    }

    /// Waits until every rank has arrived.
    public func barrier() {
        guard isDistributed else { return }
        #if canImport(CMPI)
        MPI_Barrier(pretrain_mpi_comm_world())
        #endif
    }

    /// Ends every rank of the job with `code` (MPI_Abort): a rank that cannot go on must not leave
    /// the others waiting in a collective.
    public func abort(code: Int32) -> Never {
        #if canImport(CMPI)
        if usesMPI { MPI_Abort(pretrain_mpi_comm_world(), code) }
        #endif
        exit(code)
    }

    /// Shuts MPI down (at the end of a job that initialised it).
    public func finalize() {
        #if canImport(CMPI)
        guard usesMPI else { return }
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        if finalized == 0 { MPI_Finalize() }
        #endif
    }
}
