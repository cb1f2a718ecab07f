// swift-tools-version:6.0
import PackageDescription

// swift-deepipr: DNN ownership verification with passports (DeepIPR), on a CPU engine over OpenBLAS.
// Library targets carry no unsafeFlags so the package stays usable as a versioned dependency.
let package = Package(
    name: "swift-deepipr",
    products: [
        .library(name: "IPRTensor", targets: ["IPRTensor"]),
    ],
    targets: [
        // MARK: - System libraries
        .systemLibrary(name: "CBLAS", path: "Modules/CBLAS",
                       pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),

        // MARK: - Libraries
        .target(name: "IPRTensor", dependencies: ["CBLAS"], path: "Modules/IPRTensor"),

        // MARK: - Tools
        .executableTarget(name: "iprbench", dependencies: ["IPRTensor"], path: "Tools/bench/Sources"),

        // MARK: - Tests
        .testTarget(name: "IPRTensorTests", dependencies: ["IPRTensor"], path: "Tests/IPRTensorTests"),
    ]
)
