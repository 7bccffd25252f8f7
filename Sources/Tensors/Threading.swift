import BLAS
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The thread count shared by our kernels and by BLAS.
///
/// Our kernels and BLAS calls never overlap in time, so both may use every core; what must not
/// happen is BLAS spawning its own default (all cores, again) *inside* one of our parallel loops.
/// ``configure(threads:)`` pins BLAS explicitly, and kernels that call BLAS from inside a
/// parallel region use ``withSingleThreadedBLAS(_:)``.
public enum Threading {
    nonisolated(unsafe) private static var current = 0

    /// Cores online on this machine.
    public static var coreCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// The thread count in force (configures itself to ``coreCount`` on first use).
    public static var threadCount: Int {
        if current == 0 { configure(threads: coreCount) }
        return current
    }

    /// Sets our thread count and pins BLAS to the same number.
    public static func configure(threads: Int) {
        current = max(1, threads)
        BLAS.setThreadCount(current)
    }

    /// Runs `body` with BLAS pinned to one thread, for BLAS calls made from inside ``parallelFor(_:grain:_:)``.
    public static func withSingleThreadedBLAS<R>(_ body: () throws -> R) rethrows -> R {
        let saved = threadCount
        BLAS.setThreadCount(1)
        defer { BLAS.setThreadCount(saved) }
        return try body()
    }
}

/// Runs `body` over `0..<count` split into contiguous chunks, in parallel.
///
/// `grain` is the smallest chunk worth a thread. Chunks are contiguous and each index is visited
/// exactly once, so a kernel that writes only its own rows is deterministic for any thread count.
@inlinable
public func parallelFor(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
    if count <= 0 { return }
    let threads = Threading.threadCount
    let chunks = min(threads, max(1, count / max(1, grain)))
    if chunks == 1 {
        body(0..<count)
        return
    }
    withoutActuallyEscaping(body) { body in
        let box = UnsafeSendable(body)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let start = count * chunk / chunks
            let end = count * (chunk + 1) / chunks
            box.value(start..<end)
        }
    }
}

/// Carries a value into a `@Sendable` closure when the caller guarantees data-race freedom
/// (each parallel chunk touches disjoint memory).
public struct UnsafeSendable<Value>: @unchecked Sendable {
    public let value: Value
    @inlinable public init(_ value: Value) { self.value = value }
}
