// swift-tools-version:6.0
import PackageDescription

// Coverage-guided fuzz targets for every parser that reads a file a user did not make. Built by
// `Tools/fuzz/run` with AddressSanitizer and libFuzzer's coverage instrumentation, linked with the
// libFuzzer that ships with the Swift toolchain; each target is one executable that feeds one input
// to one parser. A separate package, so that the main one never builds them without those flags.
import Foundation

// One target per lower-case folder of Sources/ (FuzzSupport and CFuzzDriver are shared by all).
let targets = (try? FileManager.default.contentsOfDirectory(atPath: Context.packageDirectory + "/Sources"))!
    .filter { $0.first!.isLowercase }.sorted()

func module(_ target: String) -> String {
    "Fuzz" + target.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
}

let package = Package(
    name: "swift-deepipr-fuzz",
    dependencies: [.package(name: "swift-deepipr", path: "../..")],
    targets: [
        .systemLibrary(name: "CFuzzDriver", path: "Sources/CFuzzDriver"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzDriver"], path: "Sources/FuzzSupport"),
    ] + targets.map { target in
        .executableTarget(name: module(target), dependencies: [
            "FuzzSupport",
            .product(name: "IPRTensor", package: "swift-deepipr"),
            .product(name: "IPRData", package: "swift-deepipr"),
            .product(name: "IPRModels", package: "swift-deepipr"),
            .product(name: "IPRPassport", package: "swift-deepipr"),
        ] + (target == "infer-request" ? [.product(name: "IPRServe", package: "swift-deepipr")] : []), path: "Sources/\(target)")
    }
)
