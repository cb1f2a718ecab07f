import Foundation

/// Progress of a long loop on standard error: one updating line on a terminal, plain lines
/// (about four per epoch) otherwise, so logs stay readable.
public final class ProgressReporter {
    private let isTerminal: Bool
    private var lastDraw = 0.0
    private let output: (String) -> Void
    public var quiet = false

    public init(output: ((String) -> Void)? = nil) {
        isTerminal = output == nil && isatty(2) != 0
        self.output = output ?? { FileHandle.standardError.write(Data($0.utf8)) }
    }

    /// Reports batch `index` (0-based) of `total`.
    public func batch(_ index: Int, of total: Int, text: @autoclosure () -> String) {
        guard !quiet else { return }
        let now = Date().timeIntervalSince1970
        if isTerminal {
            guard index + 1 == total || now - lastDraw > 0.1 else { return }
            lastDraw = now
            output("\r\u{1B}[K" + text())
        } else {
            let every = max(1, total / 4)
            if (index + 1) % every == 0 || index + 1 == total { output(text() + "\n") }
        }
    }

    /// Ends the current line and prints a summary line.
    public func line(_ text: String) {
        guard !quiet else { return }
        output((isTerminal ? "\r\u{1B}[K" : "") + text + "\n")
    }
}

/// Formats seconds as `1h02m`, `3m05s` or `12s`.
public func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    let s = Int(seconds.rounded())
    if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
    if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
    return "\(s)s"
}
