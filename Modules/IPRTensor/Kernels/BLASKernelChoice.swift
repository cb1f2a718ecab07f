#if canImport(Glibc)
import Glibc
#endif

extension BLASInfo {
    /// Re-executes the process with `OPENBLAS_CORETYPE=Haswell` when Debian's OpenBLAS 0.3.21 picked
    /// its `Cooperlake` kernel on an AMD CPU: that kernel is ~20 % slower on conv-shaped GEMMs on
    /// Zen 4 (see notes/engine-spike.md). OpenBLAS chooses in a load-time constructor, so setting the
    /// variable in-process is too late; re-exec is the only way. Does nothing when the user set
    /// `OPENBLAS_CORETYPE` themselves, or on other CPUs. Call first thing in `main`.
    public static func preferFastKernel() {
        guard getenv("OPENBLAS_CORETYPE") == nil, coreName == "Cooperlake", cpuVendor == "AuthenticAMD" else { return }
        setenv("OPENBLAS_CORETYPE", "Haswell", 1)
        let args = CommandLine.unsafeArgv
        execv("/proc/self/exe", args)
        // execv returns only on failure: carry on with the slower kernel.
    }

    /// The CPU vendor string from /proc/cpuinfo ("AuthenticAMD", "GenuineIntel"), or "".
    static var cpuVendor: String {
        guard let f = fopen("/proc/cpuinfo", "r") else { return "" }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 512)
        while fgets(&line, Int32(line.count), f) != nil {
            let s = String(cString: line)
            if s.hasPrefix("vendor_id") { return s.split(separator: ":").last.map { $0.trimmingCharacters() } ?? "" }
        }
        return ""
    }
}

private extension Substring {
    func trimmingCharacters() -> String { String(drop { $0 == " " || $0 == "\t" }.prefix { $0 != "\n" && $0 != " " }) }
}
