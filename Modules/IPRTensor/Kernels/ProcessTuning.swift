#if canImport(Glibc)
import Glibc
#endif

/// Environment settings that OpenBLAS and OpenMP read only at load time, applied by re-executing
/// the process once. Call `ProcessTuning.apply()` first thing in an executable's `main`.
public enum ProcessTuning {
    /// Re-executes the process with a better environment when one is needed:
    /// - `OPENBLAS_CORETYPE` when OpenBLAS picked a slow kernel for this CPU. Debian's 0.3.21 picks by
    ///   CPU model number and misses: on a virtualised Intel CPU with a masked model ("Intel(R) Xeon(R)
    ///   Processor") it falls back to `Prescott` (SSE3) — 31 GFLOP/s on 2 cores against 125 with
    ///   `SkylakeX` (measured here); on AMD Zen 4 it picks `Cooperlake`, ~20 % slower on conv-shaped
    ///   GEMMs than `Haswell` (measured; BENCHMARKS.md): Zen 4 splits AVX-512 into 256-bit halves.
    ///   Zen 5 (family 26) runs it at full width, and there `Cooperlake` (what OpenBLAS detects)
    ///   and `SkylakeX` reach 302 and 291 GFLOP/s on M=192, N=16384, K=1600 against 175 with
    ///   `Haswell` (2 cores, `iprbench gemm`, BENCHMARKS.md). The kernel is read when libopenblas
    ///   loads, so it cannot be timed in-process; these choices follow the measurements named.
    /// - `OMP_WAIT_POLICY=passive` and `OPENBLAS_THREAD_TIMEOUT=4`: oneDNN (OpenMP) and OpenBLAS
    ///   (pthreads) alternate in every training step, and each library's idle threads spin on the
    ///   cores the other needs — measured: a conv after an sgemm 10.6 → 19.9 ms, back to 10.6 with these.
    /// Variables the user set are left alone. Setting them in-process is too late (both libraries read
    /// them in load-time constructors), so re-exec is the only way.
    public static func apply() {
        guard getenv(marker) == nil else { return }
        var changed = false
        if getenv("OPENBLAS_CORETYPE") == nil, let better = betterKernel(current: BLASInfo.coreName, cpu: CPUInfo.read()) {
            setenv("OPENBLAS_CORETYPE", better, 1); changed = true
        }
        for (name, value) in [("OMP_WAIT_POLICY", "passive"), ("OPENBLAS_THREAD_TIMEOUT", "4")] where getenv(name) == nil {
            setenv(name, value, 1); changed = true
        }
        guard changed else { return }
        setenv(marker, "1", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // execv returns only on failure: carry on with the slower settings.
    }

    private static let marker = "IPR_PROCESS_TUNED"

    /// The OpenBLAS kernel to switch to, or nil when the current one is already a good fit.
    static func betterKernel(current: String, cpu: CPUInfo) -> String? {
        let wide = cpu.flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl"])
        let avx2 = cpu.flags.isSuperset(of: ["avx2", "fma"])
        // AMD before Zen 5 runs AVX-512 as two 256-bit halves: the AVX2 kernels are faster there.
        let halfWidthAVX512 = cpu.vendor == "AuthenticAMD" && cpu.family < 26
        let (good, choice): (Set<String>, String)
        if halfWidthAVX512 && avx2 {
            (good, choice) = (["Haswell", "Zen"], "Haswell")
        } else if wide {
            (good, choice) = (["SkylakeX", "Cooperlake", "SapphireRapids"], "SkylakeX")
        } else if avx2 {
            (good, choice) = (["Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"], "Haswell")
        } else {
            return nil
        }
        return good.contains(current) ? nil : choice
    }
}

/// The CPU vendor, family and feature flags of the first processor in /proc/cpuinfo (x86 Linux;
/// elsewhere, or where a field is missing, it stays empty and no kernel is changed).
struct CPUInfo {
    var vendor = ""
    var family = 0
    var flags: Set<String> = []

    static func read() -> CPUInfo {
        guard let f = fopen("/proc/cpuinfo", "r") else { return CPUInfo() }
        defer { fclose(f) }
        var text = ""
        var line = [CChar](repeating: 0, count: 8192)
        while fgets(&line, Int32(line.count), f) != nil {
            let s = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if s == "\n" { break }                         // the end of the first processor's block
            text += s
        }
        return parse(text)
    }

    /// Parses `key : value` lines as /proc/cpuinfo writes them.
    static func parse(_ text: String) -> CPUInfo {
        var info = CPUInfo()
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: " \t"), value = line[line.index(after: colon)...]
            switch key {
            case "vendor_id": info.vendor = value.trimmingCharacters(in: " \t")
            case "cpu family": info.family = Int(value.trimmingCharacters(in: " \t")) ?? 0
            case "flags": info.flags = Set(value.split(separator: " ").map(String.init))
            default: break
            }
        }
        return info
    }
}

private extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        String(drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}
