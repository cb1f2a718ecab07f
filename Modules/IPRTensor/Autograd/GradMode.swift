/// Whether ops record the graph. Task-local (and so per test, per thread of work): a `noGrad`
/// scope in one task never switches recording off in another.
public enum GradMode {
    @TaskLocal public static var isEnabled = true
}

/// Runs `body` without recording gradients (evaluation, optimiser updates, statistics).
@discardableResult
public func noGrad<T>(_ body: () throws -> T) rethrows -> T {
    try GradMode.$isEnabled.withValue(false, operation: body)
}
