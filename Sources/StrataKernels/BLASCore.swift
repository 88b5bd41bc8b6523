import CStrataBLAS
import CStrataKernels
import Foundation

/// Which of OpenBLAS's kernel families runs the SGEMMs, and the fix for CPUs it does not know.
///
/// A dynamic-architecture OpenBLAS (Debian's) picks its kernels once, when the library loads, from
/// the CPU's family and model numbers. A CPU newer than the library — Debian 12's OpenBLAS 0.3.21
/// on an Emerald Rapids Xeon (family 6, model 207), say — gets the generic SSE3 "Prescott"
/// kernels, which ran Sorted Fine-Tuning at 28 tokens/s where the AVX-512 "SkylakeX" kernels run
/// it at 128. The library honours `OPENBLAS_CORETYPE` only at load, so `adoptPreferredCore`
/// re-executes the process with it set before any work starts.
public enum BLASCore {
    /// The environment variable OpenBLAS reads at load.
    public static let environmentKey = "OPENBLAS_CORETYPE"

    /// Kernel families that already use AVX2 or wider (lower-cased, as compared).
    static let vectorFamilies: Set<String> = [
        "haswell", "skylakex", "cooperlake", "sapphirerapids", "zen", "excavator",
    ]

    /// The family OpenBLAS chose for this process, e.g. "SkylakeX", "Haswell", "Prescott".
    public static var current: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// The family to ask for instead of `current`, or nil when `current` is already right.
    ///
    /// Only a fallback is replaced: a family without AVX2 chosen on a CPU that has AVX2 and FMA.
    /// The replacement is "SkylakeX" where the CPU has the AVX-512 subsets those kernels use
    /// (F, BW, VL, DQ, CD), else "Haswell".
    /// - Parameters:
    ///   - current: the family OpenBLAS chose.
    ///   - hasAVX2: the CPU (and OS) support AVX2 and FMA.
    ///   - hasAVX512: the CPU (and OS) support AVX-512 F, BW, VL, DQ and CD.
    public static func preferred(current: String, hasAVX2: Bool, hasAVX512: Bool) -> String? {
        guard hasAVX2, !vectorFamilies.contains(current.lowercased()) else { return nil }
        return hasAVX512 ? "SkylakeX" : "Haswell"
    }

    /// The CPU and OS support AVX2 and FMA.
    public static var cpuHasAVX2: Bool { st_cpu_has_avx2_fma() != 0 }

    /// The CPU and OS support AVX-512 F, BW, VL, DQ and CD.
    public static var cpuHasAVX512: Bool { st_cpu_has_avx512_skx() != 0 }

    /// `preferred` for this process's CPU and library.
    public static var preferredForThisMachine: String? {
        preferred(current: current, hasAVX2: cpuHasAVX2, hasAVX512: cpuHasAVX512)
    }

    /// Re-executes this program with `OPENBLAS_CORETYPE` set when OpenBLAS fell back to kernels
    /// below what the CPU can run. Does nothing when the variable is already set (the user's
    /// choice, or this process is the re-executed one), when nothing is wrong, or when the
    /// program cannot be re-executed (then it carries on with the kernels it has).
    ///
    /// Call it first thing in `main`, before any thread or file is opened.
    public static func adoptPreferredCore() {
        let environment = ProcessInfo.processInfo.environment
        guard (environment[environmentKey] ?? "").isEmpty, let family = preferredForThisMachine else { return }
        setenv(environmentKey, family, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Only reached when exec failed: carry on, slower, and say why once.
        let reason = String(cString: strerror(errno))
        FileHandle.standardError.write(
            Data("strata: OpenBLAS chose \(current) kernels; re-running with \(environmentKey)=\(family) failed (\(reason))\n".utf8))
        unsetenv(environmentKey)
    }
}
