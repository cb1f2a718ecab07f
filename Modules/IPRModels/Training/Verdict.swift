/// The outcome of an ownership check, typed; its raw values are what reports' JSON and tables say.
public enum Verdict: String, Sendable, Codable, Equatable, CaseIterable, CustomStringConvertible {
    /// Every check of the claim passed.
    case verified
    /// At least one check failed.
    case notVerified = "not-verified"
    /// Nothing to verify: a forger's own model or passport, judged against no owner (attack steps).
    case noPassport = "no-passport"
    /// The edited model could not even be read (a structural edit the reader refuses).
    case notLoadable = "not-loadable"
    /// No verdict is measured at this point (an optimisation step between verifications).
    case unmeasured = "–"

    /// `verified` when every check passed, else `notVerified`.
    public init(passed: Bool) { self = passed ? .verified : .notVerified }

    public var description: String { rawValue }
}
