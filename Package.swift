// swift-tools-version:6.0
import PackageDescription

// swift-deepipr: DNN ownership verification with passports (DeepIPR), on a CPU engine over OpenBLAS.
// Library targets carry no unsafeFlags so the package stays usable as a versioned dependency.
let package = Package(
    name: "swift-deepipr",
    products: [
        .library(name: "IPRTensor", targets: ["IPRTensor"]),
        .library(name: "IPRModels", targets: ["IPRModels"]),
    ],
    targets: [
        // MARK: - System libraries
        .systemLibrary(name: "CBLAS", path: "Modules/CBLAS",
                       pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CDNNL", path: "Modules/CDNNL", providers: [.apt(["libdnnl-dev"])]),

        // MARK: - Libraries
        // oneDNN convolutions behind a small C API (cached primitives, NCHW in and out). `link "dnnl"`
        // in CDNNL's module map only applies to Swift importers, so the C target names the library.
        .target(name: "CConv", dependencies: ["CDNNL"], path: "Modules/CConv",
                linkerSettings: [.linkedLibrary("dnnl")]),
        .target(name: "IPRTensor", dependencies: ["CBLAS", "CConv"], path: "Modules/IPRTensor"),
        .target(name: "IPRModels", dependencies: ["IPRTensor"], path: "Modules/IPRModels"),

        // MARK: - Tools
        .executableTarget(name: "iprbench", dependencies: ["IPRTensor", "IPRModels"], path: "Tools/bench/Sources"),

        // MARK: - Tests
        .testTarget(name: "CConvTests", dependencies: ["CConv"], path: "Tests/CConvTests"),
        .testTarget(name: "IPRTensorTests", dependencies: ["IPRTensor"], path: "Tests/IPRTensorTests"),
        .testTarget(name: "IPRModelsTests", dependencies: ["IPRModels"], path: "Tests/IPRModelsTests"),
    ]
)
