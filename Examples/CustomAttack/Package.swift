// swift-tools-version:6.0
import PackageDescription

// A package of one's own that ships `iprtool` with its own attack and model beside the built-ins:
// it depends on swift-deepipr (here by path, from the repository; elsewhere by URL and version),
// registers what it adds, and hands the command line to IPRCommands.
let package = Package(
    name: "CustomAttack",
    dependencies: [
        .package(name: "swift-deepipr", path: "../.."),
    ],
    targets: [
        .executableTarget(name: "my-iprtool", dependencies: [
            .product(name: "IPRCommands", package: "swift-deepipr"),
            .product(name: "IPRAttacks", package: "swift-deepipr"),
            .product(name: "IPRModels", package: "swift-deepipr"),
            .product(name: "IPRTensor", package: "swift-deepipr"),
        ], path: "Sources/my-iprtool"),
    ]
)
