import Foundation
import IPRTensor
import Testing
@testable import IPRData

@Suite("Dataset registry")
struct RegistryTests {
    @Test("Built-ins are registered by name")
    func builtins() throws {
        for name in ["cifar10", "cifar100", "imagenet", "imagefolder", "caltech101", "caltech256", "trigger-set", "fashion-mnist", "idx"] {
            #expect(Datasets.registry.names.contains(name), "\(name)")
        }
        let test = try Datasets.make("cifar10", DatasetOptions(root: Fixtures.cifar10, split: .test))
        #expect(test.count == 200 && test.classCount == 10)
        let trigger = try Datasets.make("trigger-set", DatasetOptions(root: Fixtures.triggerSet))
        #expect(trigger.count == 100)
    }

    @Test("Unknown names and bad options are typed errors")
    func errors() throws {
        expectDataError(.invalidOption, mentioning: ["unknown dataset 'cifar11'", "cifar10", "trigger-set"]) {
            _ = try Datasets.make("cifar11", DatasetOptions(root: "."))
        }
        expectDataError(.invalidOption, mentioning: ["channels must be 3"]) {
            _ = try Datasets.make("cifar10", DatasetOptions(root: Fixtures.cifar10, channels: 1))
        }
    }

    @Test("A user's own dataset plugs in by conforming and registering")
    func plugin() throws {
        Datasets.registry.register("solid-test", description: "solid squares (test plug-in)") { options in
            SolidDataset(count: Int(options.extra["count"] ?? "3") ?? 3)
        }
        let data = try Datasets.make("solid-test", DatasetOptions(root: "", extra: ["count": "12"]))
        #expect(data.count == 12)
        let loader = DataLoader(dataset: data, batchSize: 5)
        #expect(loader.batchCount == 3)
    }

    @Test("A dataset brings its own transforms and storage, so a tool needs only its name")
    func kinds() throws {
        let cifar = try Datasets.kind("cifar10")
        #expect(cifar.transforms(32, .imageNet).train.isRandom && !cifar.transforms(32, .imageNet).test.isRandom)
        #expect(!cifar.gray && cifar.needsRoot)
        let fashion = try Datasets.kind("fashion-mnist")
        #expect(fashion.gray && !fashion.needsRoot)
        Datasets.registry.register("flipped-test", description: "solid squares, flipped in training (test plug-in)",
                                   DatasetKind(transforms: { _, n in (SampleTransform(RandomHorizontalFlip(), normalize: n), SampleTransform([], normalize: n)) }) { _ in
            SolidDataset(count: 4)
        })
        let own = try Datasets.kind("flipped-test")
        #expect(own.transforms(8, .imageNet).train.isRandom && !own.transforms(8, .imageNet).test.isRandom)
        // Registered with a factory alone: a center crop to the input size, in training and testing.
        Datasets.registry.register("plain-test", description: "solid squares (test plug-in)") { _ in SolidDataset(count: 4) }
        let plain = try Datasets.kind("plain-test").transforms(4, .imageNet)
        var rng = RNG(seed: 1)
        let (image, _) = try SolidDataset(count: 1).sample(at: 0)
        #expect(try plain.train(image, rng: &rng).shape == [3, 4, 4] && !plain.train.isRandom)
        expectDataError(.invalidOption, mentioning: ["unknown dataset 'nope'"]) { _ = try Datasets.kind("nope") }
    }
}
