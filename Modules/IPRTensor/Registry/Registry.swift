import Foundation

/// A name → (factory, one-line description) table. Libraries register their built-ins in one
/// visible place; users add their own the same way; the CLI only looks names up.
public final class Registry<Entry>: @unchecked Sendable {
    /// One registered item.
    public struct Item {
        public let name: String
        public let description: String
        public let entry: Entry
    }

    /// What the registry holds ("model", "dataset", "attack"), for error messages.
    public let kind: String
    private var items: [String: Item] = [:]
    private let lock = NSLock()

    public init(kind: String) { self.kind = kind }

    /// Adds or replaces `name`.
    public func register(_ name: String, description: String, _ entry: Entry) {
        precondition(!name.isEmpty, "registry names must not be empty")
        lock.withLock { items[name] = Item(name: name, description: description, entry: entry) }
    }

    /// The entry for `name`, or an error listing the known names.
    public func lookup(_ name: String) throws -> Entry {
        guard let item = lock.withLock({ items[name] }) else {
            throw IPRTensorError(.unknownName, "unknown \(kind) '\(name)'; known: \(names.joined(separator: ", "))")
        }
        return item.entry
    }

    /// Registered names, sorted.
    public var names: [String] { lock.withLock { items.keys.sorted() } }

    /// All items, sorted by name.
    public var all: [Item] { lock.withLock { items.values.sorted { $0.name < $1.name } } }
}
