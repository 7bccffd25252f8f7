import XCTest
@testable import Collectives

/// One process (what `swift test` is): every collective is the identity; the two-rank behaviour
/// is checked under `mpirun` by scripts/mpi-check.sh.
final class ProcessGroupTests: XCTestCase {
    func testSingleProcessCollectivesAreIdentity() {
        let group = ProcessGroup.single()
        XCTAssertEqual(group.rank, 0)
        XCTAssertEqual(group.size, 1)
        XCTAssertFalse(group.isDistributed)
        XCTAssertTrue(group.isLeader)
        var values: [Float] = [1, -2, 3.5]
        values.withUnsafeMutableBufferPointer { group.sum($0.baseAddress!, count: $0.count) }
        XCTAssertEqual(values, [1, -2, 3.5])
        XCTAssertEqual(group.sum([1.5, 2]), [1.5, 2])
        XCTAssertEqual(group.maximum([4]), [4])
        XCTAssertEqual(group.allGather([7, 8]), [[7, 8]])
        XCTAssertEqual(group.broadcast([1, 2, 3]), [1, 2, 3])
        XCTAssertEqual(group.takeTraffic().bytes, 0)
    }

    func testWorldIsOneProcessWithoutALauncher() throws {
        try XCTSkipIf(ProcessGroup.launchedByMPI, "this test process was started by mpirun")
        XCTAssertFalse(ProcessGroup.world.usesMPI)
        XCTAssertEqual(ProcessGroup.world.size, 1)
    }

    func testThreadsShareTheCoresAmongLocalRanks() {
        XCTAssertEqual(ProcessGroup(rank: 0, size: 2, localSize: 2, usesMPI: true).defaultThreads(cores: 2, allowed: 2), 1)
        XCTAssertEqual(ProcessGroup(rank: 0, size: 4, localSize: 2, usesMPI: true).defaultThreads(cores: 16, allowed: 16), 8)
        XCTAssertEqual(ProcessGroup(rank: 0, size: 8, localSize: 8, usesMPI: true).defaultThreads(cores: 2, allowed: nil), 1)
        XCTAssertEqual(ProcessGroup.single().defaultThreads(cores: 2, allowed: nil), 2)
        // A rank bound to one core runs one thread, whatever the machine has.
        XCTAssertEqual(ProcessGroup(rank: 0, size: 2, localSize: 1, usesMPI: true).defaultThreads(cores: 16, allowed: 1), 1)
    }

    func testAllowedCoresReadsTheAffinityMask() throws {
        #if os(Linux)
        let allowed = try XCTUnwrap(ProcessGroup.allowedCores())
        XCTAssertGreaterThanOrEqual(allowed, 1)
        XCTAssertLessThanOrEqual(allowed, Int(sysconf(Int32(_SC_NPROCESSORS_CONF))))
        #endif
    }
}
