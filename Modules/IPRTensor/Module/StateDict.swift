extension Module {
    /// The persistent state as a safetensors file body (F32 tensors, I64 counters), in PyTorch order.
    public func stateDict(metadata: [String: String] = [:]) -> SafeTensorsFile {
        var file = SafeTensorsFile(metadata: metadata)
        for (name, entry) in stateEntries {
            switch entry {
            case .parameter(let t), .buffer(let t, persistent: true), .alias(let t):
                file.set(name, SafeTensor(floats: t.array, shape: t.shape))
            case .buffer(_, persistent: false):
                continue
            case .counter(let c):
                file.set(name, SafeTensor(int64s: [c.value], shape: []))
            }
        }
        return file
    }

    /// Loads a state dict. Every problem (missing keys, unexpected keys, shape or dtype mismatches)
    /// is collected first and reported in one error; nothing is changed unless all entries fit.
    /// With `strict: false`, missing and unexpected keys are allowed (shapes must still match).
    public func load(_ file: SafeTensorsFile, strict: Bool = true, source: String = "<state dict>") throws {
        var problems: [String] = []
        var updates: [() -> Void] = []
        var expected = Set<String>()
        for (name, entry) in stateEntries {
            if case .buffer(_, persistent: false) = entry { continue }
            expected.insert(name)
            guard let st = file[name] else {
                if strict { problems.append("missing key '\(name)'") }
                continue
            }
            switch entry {
            case .parameter(let t), .buffer(let t, _), .alias(let t):
                guard st.shape == t.shape else {
                    problems.append("size mismatch for '\(name)': file has \(st.shape), model has \(t.shape)")
                    continue
                }
                do {
                    let values = try st.floats()
                    updates.append { values.withUnsafeBufferPointer { t.pointer.update(from: $0.baseAddress!, count: values.count) } }
                } catch { problems.append("'\(name)': \(error)") }
            case .counter(let c):
                do {
                    let v = try st.int64s()
                    guard v.count == 1 else { problems.append("'\(name)': expected one integer, found \(v.count)"); continue }
                    updates.append { c.value = v[0] }
                } catch { problems.append("'\(name)': \(error)") }
            }
        }
        if strict {
            for name in file.names where !expected.contains(name) { problems.append("unexpected key '\(name)'") }
        }
        guard problems.isEmpty else {
            let shown = problems.prefix(20).joined(separator: "\n  ")
            let more = problems.count > 20 ? "\n  … and \(problems.count - 20) more" : ""
            throw IPRTensorError(.stateDictMismatch,
                                 "\(source): \(problems.count) problem(s) loading state dict into \(type(of: self)):\n  \(shown)\(more)")
        }
        for u in updates { u() }
    }
}
