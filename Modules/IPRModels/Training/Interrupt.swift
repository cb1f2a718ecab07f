#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C handling for long runs: the first SIGINT only sets a flag that the trainer checks between
/// batches (it then saves and stops cleanly); a second one kills the process as usual.
public enum Interrupt {
    nonisolated(unsafe) private static var flag: Int32 = 0

    /// Whether Ctrl-C was pressed since `install()`.
    public static var requested: Bool { flag != 0 }

    /// Installs the handler.
    public static func install() {
        flag = 0
        signal(SIGINT) { _ in
            Interrupt.flag = 1
            signal(SIGINT, SIG_DFL)
        }
    }

    /// Sets the flag as if Ctrl-C had been pressed (tests).
    public static func simulate() { flag = 1 }

    /// Restores the default SIGINT behaviour and clears the flag.
    public static func reset() { flag = 0; signal(SIGINT, SIG_DFL) }
}
