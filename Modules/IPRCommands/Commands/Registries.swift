import ArgumentParser
import IPRData
import IPRModels

extension IPRTool {
    struct ModelsCommand: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "models", abstract: "List the architectures --model accepts.")
        func run() { for line in listing(Models.registry.all.map { ($0.name, $0.description) }) { say(line) } }
    }

    struct DatasetsCommand: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "datasets", abstract: "List the datasets --dataset accepts.")
        func run() { for line in listing(Datasets.registry.all.map { ($0.name, $0.description) }) { say(line) } }
    }
}

/// One line per registered item, the descriptions aligned after the longest name (registered names
/// of any length, a package's own among them, are printed whole).
func listing(_ items: [(name: String, description: String)]) -> [String] {
    let width = (items.map(\.name.count).max() ?? 0) + 2
    return items.map { $0.name.padding(toLength: width, withPad: " ", startingAt: 0) + $0.description }
}
