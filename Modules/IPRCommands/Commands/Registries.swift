import ArgumentParser
import IPRData
import IPRModels

extension IPRTool {
    struct ModelsCommand: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "models", abstract: "List the architectures --model accepts.")
        func run() { for item in Models.registry.all { print("\(item.name.padding(toLength: 14, withPad: " ", startingAt: 0))\(item.description)") } }
    }

    struct DatasetsCommand: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "datasets", abstract: "List the datasets --dataset accepts.")
        func run() { for item in Datasets.registry.all { print("\(item.name.padding(toLength: 14, withPad: " ", startingAt: 0))\(item.description)") } }
    }
}
