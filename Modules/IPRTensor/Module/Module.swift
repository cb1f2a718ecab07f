/// What a forward pass needs besides its input: training or evaluation, and which of a layer's
/// alternative paths to run. Passed explicitly through `forward`, never held in global state.
public struct ForwardContext: Sendable, Equatable {
    /// Training mode: batch statistics in batch norm, dropout active.
    public var training: Bool
    /// Which forward path layers with several run (0: the default/public path; passport layers
    /// use 1 for their private path).
    public var path: Int
    /// Shares the outputs of path-independent layers between forward passes over the same input
    /// (two-path training computes the layers before the first passport layer once).
    public var memo: ForwardMemo?

    public init(training: Bool, path: Int = 0, memo: ForwardMemo? = nil) {
        self.training = training; self.path = path; self.memo = memo
    }

    public static func == (a: Self, b: Self) -> Bool { a.training == b.training && a.path == b.path && a.memo === b.memo }
    /// Training on the default path.
    public static let train = ForwardContext(training: true)
    /// Evaluation on the default path.
    public static let eval = ForwardContext(training: false)
}

/// Marks a layer whose output depends on `ForwardContext.path` (passport layers with a public and
/// a private path). Layers without one below them may be shared between paths.
public protocol PathDependent: AnyObject {}

/// Outputs of path-independent layers for the inputs they were given, kept for one training step.
/// A layer's output is reused only when it gets the very same input tensor object again.
public final class ForwardMemo: @unchecked Sendable {
    private var outputs: [ObjectIdentifier: (input: Tensor, output: Tensor)] = [:]
    private var independent: [ObjectIdentifier: Bool] = [:]
    public init() {}

    /// `layer(x)`, computed once per input for layers with no path-dependent layer inside.
    public func run(_ layer: any Layer, _ x: Tensor, _ context: ForwardContext) -> Tensor {
        let id = ObjectIdentifier(layer)
        let shareable = independent[id] ?? {
            let value = !(layer is PathDependent) && !layer.namedModules().contains { $0.module is PathDependent }
            independent[id] = value
            return value
        }()
        guard shareable else { return layer.forward(x, context) }
        if let hit = outputs[id], hit.input === x { return hit.output }
        let out = layer.forward(x, context)
        outputs[id] = (x, out)
        return out
    }
}

extension ForwardContext {
    /// `layer(x)` through the memo when there is one.
    public func run(_ layer: any Layer, _ x: Tensor) -> Tensor { memo?.run(layer, x, self) ?? layer.forward(x, self) }
}

/// An integer counter stored in a state dict as I64 (BatchNorm's `num_batches_tracked`).
public final class CounterBuffer: @unchecked Sendable {
    public var value: Int64
    public init(_ value: Int64 = 0) { self.value = value }
}

/// A named element of a module's state, as PyTorch lists it in `state_dict()`.
public enum StateEntry {
    case parameter(Tensor)
    case buffer(Tensor, persistent: Bool)
    case counter(CounterBuffer)
    /// A second state-dict name for a tensor listed elsewhere (the reference's passport layers save
    /// their conv weight as both `weight` and `conv.weight`). Saved and loaded, never optimised twice.
    case alias(Tensor)
}

/// Collects a module tree's state under PyTorch state-dict names (`features.0.conv.weight`).
public struct StateVisitor {
    public private(set) var entries: [(name: String, entry: StateEntry)] = []
    /// Every child module visited, with its path (`features.4`), outermost first.
    public private(set) var modules: [(path: String, module: any Module)] = []
    /// The names of the entries declared secret (`secret(_:)`).
    public private(set) var secretNames: Set<String> = []
    private var prefix = ""

    public init() {}

    /// A learnable parameter (absent optional parameters are skipped, as in PyTorch).
    public mutating func param(_ name: String, _ t: Tensor?) {
        if let t { entries.append((prefix + name, .parameter(t))) }
    }
    /// A buffer: saved in the state dict when persistent, never updated by optimisers.
    public mutating func buffer(_ name: String, _ t: Tensor?, persistent: Bool = true) {
        if let t { entries.append((prefix + name, .buffer(t, persistent: persistent))) }
    }
    /// Another state-dict name for a tensor that is listed as a parameter elsewhere.
    public mutating func alias(_ name: String, _ t: Tensor) { entries.append((prefix + name, .alias(t))) }
    /// An integer counter buffer.
    public mutating func counter(_ name: String, _ c: CounterBuffer?) {
        if let c { entries.append((prefix + name, .counter(c))) }
    }
    /// Declares every entry `body` lists secret: state the owner keeps and a released model leaves
    /// out (a passport layer's private passports, its signature, its private path's statistics).
    public mutating func secret(_ body: (inout StateVisitor) -> Void) {
        let start = entries.count
        body(&self)
        for e in entries[start...] { secretNames.insert(e.name) }
    }
    /// A child module whose entries are prefixed with `name.`.
    public mutating func child(_ name: String, _ m: (any Module)?) {
        guard let m else { return }
        let saved = prefix
        prefix += name + "."
        modules.append((String(prefix.dropLast()), m))
        m.visit(&self)
        prefix = saved
    }
}

/// A network component: lists its parameters, buffers and children once in `visit`, under the
/// names PyTorch would give them; everything else (state dicts, parameter lists) derives from it.
public protocol Module: AnyObject {
    func visit(_ v: inout StateVisitor)
}

/// A module with a single-tensor forward pass.
public protocol Layer: Module {
    func forward(_ x: Tensor, _ context: ForwardContext) -> Tensor
}

extension Layer {
    /// `forward`, in evaluation mode unless told otherwise.
    public func callAsFunction(_ x: Tensor, _ context: ForwardContext = .eval) -> Tensor { forward(x, context) }
}

extension Module {
    /// All state entries in PyTorch's `state_dict()` order (own parameters, buffers, then children).
    public var stateEntries: [(name: String, entry: StateEntry)] {
        var v = StateVisitor()
        visit(&v)
        return v.entries
    }

    /// The state-dict names its modules declare secret (`StateVisitor.secret(_:)`).
    public func secretStateNames() -> Set<String> {
        var v = StateVisitor()
        visit(&v)
        return v.secretNames
    }

    /// Every submodule with its state-dict path, outermost first (finds passport layers in any model).
    public func namedModules() -> [(path: String, module: any Module)] {
        var v = StateVisitor()
        visit(&v)
        return v.modules
    }

    /// Named learnable parameters, in order.
    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        stateEntries.compactMap { e in if case .parameter(let t) = e.entry { return (e.name, t) } else { return nil } }
    }

    /// Learnable parameters that currently require gradients (frozen ones are left out).
    public func trainableParameters() -> [Tensor] { namedParameters().map(\.tensor).filter(\.requiresGrad) }

    /// Freezes (or unfreezes) every parameter whose name passes `filter`.
    public func setRequiresGrad(_ flag: Bool, where filter: (String) -> Bool = { _ in true }) {
        for (name, t) in namedParameters() where filter(name) { t.requiresGrad = flag }
    }

    /// Clears every parameter's gradient.
    public func zeroGrad() { for (_, t) in namedParameters() { t.grad = nil } }
}
