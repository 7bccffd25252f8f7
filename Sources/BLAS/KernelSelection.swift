#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Tuning OpenBLAS through the environment it reads when the library loads.
///
/// - Kernel: OpenBLAS picks its kernel from the CPU model. A release that predates the CPU
///   (Debian 12 ships 0.3.21) falls back to the generic `Prescott` (SSE3) kernel, which on the
///   AVX-512 Xeons here runs at about a fifth of the speed of `SkylakeX` (65 vs 316 GFLOP/s on
///   two cores). `OPENBLAS_CORETYPE` overrides it.
/// - Idle threads: between calls OpenBLAS's workers spin (with `sched_yield`) for 2²⁸ cycles
///   before sleeping, taking cores from our own kernels, which run between BLAS calls.
///   `OPENBLAS_THREAD_TIMEOUT=4` makes them sleep almost at once.
///
/// Both are read only at load time, so the CLI sets what the user has not set and re-executes
/// itself once (``reexecuteWithBetterKernelIfNeeded(arguments:)``).
public enum BLASKernelSelection {
    /// The kernel OpenBLAS is using (e.g. `SkylakeX`, `Haswell`, `Prescott`).
    public static var coreName: String {
        #if canImport(Accelerate)
        return "Accelerate"
        #else
        return String(cString: openblas_get_corename())
        #endif
    }

    /// Generic kernels OpenBLAS falls back to when it does not know the CPU.
    static let fallbackCores: Set<String> = ["Prescott", "Core2", "Nehalem", "Penryn", "Dunnington", "Atom", "Katmai", "Coppermine", "Northwood", "Banias"]

    /// The `OPENBLAS_CORETYPE` this CPU should use, judged from its instruction-set flags:
    /// `SkylakeX` with AVX-512 F/BW/DQ/VL, `Haswell` with AVX2+FMA, nil otherwise.
    public static func coreType(forCPUFlags flags: Set<String>) -> String? {
        if ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains) { return "SkylakeX" }
        if ["avx2", "fma"].allSatisfy(flags.contains) { return "Haswell" }
        return nil
    }

    /// The instruction-set flags of the first CPU in /proc/cpuinfo (empty elsewhere).
    public static func cpuFlags() -> Set<String> {
        guard let file = fopen("/proc/cpuinfo", "r") else { return [] }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            let text = String(cString: line)
            if text.hasPrefix("flags") {
                let value = text.split(separator: ":", maxSplits: 1).last ?? ""
                return Set(value.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
            }
        }
        return []
    }

    /// The environment settings this process should have and lacks (none set by the user are changed).
    public static func missingSettings() -> [(String, String)] {
        var out: [(String, String)] = []
        if getenv("OPENBLAS_CORETYPE") == nil, fallbackCores.contains(coreName), let better = coreType(forCPUFlags: cpuFlags()) {
            out.append(("OPENBLAS_CORETYPE", better))
        }
        if getenv("OPENBLAS_THREAD_TIMEOUT") == nil { out.append(("OPENBLAS_THREAD_TIMEOUT", "4")) }
        return out
    }

    /// Sets what ``missingSettings()`` lists and re-executes the current program with the same
    /// arguments (the process image is replaced; this returns only when nothing needs doing or
    /// the exec failed).
    public static func reexecuteWithBetterKernelIfNeeded(arguments: [String]) {
        #if os(Linux) && !canImport(Accelerate)
        let settings = missingSettings()
        guard !settings.isEmpty else { return }
        for (key, value) in settings { setenv(key, value, 1) }
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        execv("/proc/self/exe", argv)
        // exec failed: carry on with the generic kernel.
        for p in argv { free(p) }
        #endif
    }
}
