import CBLAS

/// Row-major SGEMM through OpenBLAS: C = alpha · op(A) · op(B) + beta · C.
enum GEMM {
    static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                      alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                      b: UnsafePointer<Float>, ldb: Int,
                      beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        if k == 0 { if beta == 0 { c.update(repeating: 0, count: m * ldc) }; return }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }
}

/// Facts about the BLAS in use, for benchmarks and bug reports.
public enum BLASInfo {
    /// The CPU kernel OpenBLAS picked at load time (e.g. `Haswell`, `Cooperlake`).
    public static var coreName: String { String(cString: openblas_get_corename()) }
    /// OpenBLAS's build configuration string.
    public static var config: String { String(cString: openblas_get_config()) }
    /// Threads OpenBLAS uses.
    public static var threads: Int { Int(openblas_get_num_threads()) }
    /// Sets the number of OpenBLAS threads.
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }
}
