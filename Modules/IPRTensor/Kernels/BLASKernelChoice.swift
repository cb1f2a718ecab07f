#if canImport(Glibc)
import Glibc
#endif

extension BLASInfo {
    /// Re-executes the process with a better `OPENBLAS_CORETYPE` when OpenBLAS picked a slow kernel
    /// for this CPU. Debian's OpenBLAS 0.3.21 picks at load time, by CPU model number, and misses:
    /// - on a virtualised Intel CPU with a masked model ("Intel(R) Xeon(R) Processor") it falls back
    ///   to `Prescott` (SSE3): 31 GFLOP/s on 2 cores against 125 with `SkylakeX` (measured here);
    /// - on AMD Zen 4 it picks `Cooperlake`, ~20 % slower on conv-shaped GEMMs than `Haswell`
    ///   (notes/engine-spike.md).
    /// OpenBLAS chooses in a load-time constructor, so setting the variable in-process is too late:
    /// re-exec is the only way. Does nothing when the user set `OPENBLAS_CORETYPE` themselves.
    /// Call first thing in `main`.
    public static func preferFastKernel() {
        guard getenv("OPENBLAS_CORETYPE") == nil, let better = betterKernel(current: coreName, cpu: CPUInfo.read()) else { return }
        setenv("OPENBLAS_CORETYPE", better, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // execv returns only on failure: carry on with the slower kernel.
    }

    /// The kernel to switch to, or nil when the current one is already a good fit.
    static func betterKernel(current: String, cpu: CPUInfo) -> String? {
        let wide = cpu.flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl"])
        let avx2 = cpu.flags.isSuperset(of: ["avx2", "fma"])
        let (good, choice): (Set<String>, String)
        if cpu.vendor == "AuthenticAMD" && avx2 {
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

/// The CPU vendor and feature flags from /proc/cpuinfo.
struct CPUInfo {
    var vendor = ""
    var flags: Set<String> = []

    static func read() -> CPUInfo {
        var info = CPUInfo()
        guard let f = fopen("/proc/cpuinfo", "r") else { return info }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 8192)
        while fgets(&line, Int32(line.count), f) != nil {
            let s = String(cString: line)
            guard let colon = s.firstIndex(of: ":") else { continue }
            let key = s[..<colon].trimmingCharacters(in: " \t"), value = s[s.index(after: colon)...]
            if key == "vendor_id" { info.vendor = value.trimmingCharacters(in: " \t\n") }
            if key == "flags" { info.flags = Set(value.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)); break }
        }
        return info
    }
}

private extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        String(drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}
