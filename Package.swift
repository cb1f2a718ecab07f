// swift-tools-version:6.0
import PackageDescription

// swift-deepipr: DNN ownership verification with passports (DeepIPR), on a CPU engine over OpenBLAS.
// Library targets carry no unsafeFlags so the package stays usable as a versioned dependency.
let package = Package(
    name: "swift-deepipr",
    products: [
        .library(name: "IPRTensor", targets: ["IPRTensor"]),
        .library(name: "IPRData", targets: ["IPRData"]),
        .library(name: "IPRModels", targets: ["IPRModels"]),
        .library(name: "IPRPassport", targets: ["IPRPassport"]),
        .library(name: "IPRBackdoor", targets: ["IPRBackdoor"]),
        .library(name: "IPRPlot", targets: ["IPRPlot"]),
        .library(name: "IPRAttacks", targets: ["IPRAttacks"]),
        .library(name: "IPRDistributed", targets: ["IPRDistributed"]),
        .library(name: "IPRServe", targets: ["IPRServe"]),
        .library(name: "IPRWorkflows", targets: ["IPRWorkflows"]),
        .library(name: "IPRCommands", targets: ["IPRCommands"]),
        .executable(name: "iprtool", targets: ["iprtool"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // SHA-256 fingerprints of passport files and trigger sets.
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        // `iprtool serve` (Open Inference Protocol over HTTP) and `verify --endpoint`.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.20.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.30.0"),
        // Graceful shutdown of the server when its task is cancelled (Hummingbird runs in a service group).
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        // HTTP field names (Triton's Inference-Header-Content-Length); Hummingbird's own header types.
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        // `GET /metrics` of `iprtool serve`, in the Prometheus text format.
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),   // HELP lines (`help:`)
    ],
    targets: [
        // MARK: - System libraries
        .systemLibrary(name: "CBLAS", path: "Modules/CBLAS",
                       pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CDNNL", path: "Modules/CDNNL", providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(name: "CPNG", path: "Modules/CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", path: "Modules/CJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg-dev"])]),
        .systemLibrary(name: "CZlib", path: "Modules/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CCairo", path: "Modules/CCairo", pkgConfig: "cairo", providers: [.apt(["libcairo2-dev"])]),
        .systemLibrary(name: "CMPI", path: "Modules/CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),

        // MARK: - Libraries
        // oneDNN convolutions behind a small C API (cached primitives, NCHW in and out). `link "dnnl"`
        // in CDNNL's module map only applies to Swift importers, so the C target names the library.
        .target(name: "CConv", dependencies: ["CDNNL"], path: "Modules/CConv",
                linkerSettings: [.linkedLibrary("dnnl")]),
        .target(name: "IPRTensor", dependencies: ["CBLAS", "CConv"], path: "Modules/IPRTensor"),
        // libpng/libjpeg decoding behind a C API whose longjmps never cross Swift frames.
        .target(name: "CImageCodecs", dependencies: ["CPNG", "CJPEG"], path: "Modules/CImageCodecs",
                linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg")]),
        .target(name: "IPRData", dependencies: ["IPRTensor", "CPNG", "CZlib", "CImageCodecs"], path: "Modules/IPRData"),
        .target(name: "IPRModels", dependencies: ["IPRTensor"], path: "Modules/IPRModels"),
        .target(name: "IPRPassport", dependencies: ["IPRModels", "IPRTensor", .product(name: "Crypto", package: "swift-crypto")],
                path: "Modules/IPRPassport"),
        // Trigger-set watermarks (the backdoor baseline; V3 = the V2 objective + trigger-mixed batches,
        // composed by the caller) and black-box verification from predictions alone.
        .target(name: "IPRBackdoor", dependencies: ["IPRModels", "IPRData"], path: "Modules/IPRBackdoor"),
        // Line plots to PNG/SVG through cairo (attack sweeps).
        .target(name: "IPRPlot", dependencies: ["CCairo"], path: "Modules/IPRPlot"),
        // Collectives (allreduce, broadcast, barrier) over Open MPI, and one process alone.
        .target(name: "IPRDistributed", dependencies: ["IPRModels", "IPRTensor", "CMPI"], path: "Modules/IPRDistributed"),
        // A model behind the Open Inference Protocol (KServe v2 REST): server and client.
        .target(name: "IPRServe", dependencies: ["IPRModels", "IPRData", "IPRTensor",
                                                 .product(name: "Hummingbird", package: "hummingbird"),
                                                 .product(name: "AsyncHTTPClient", package: "async-http-client"),
                                                 .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                                                 .product(name: "HTTPTypes", package: "swift-http-types"),
                                                 .product(name: "Prometheus", package: "swift-prometheus")],
                path: "Modules/IPRServe"),
        // The attack suite: the Attack protocol, its registry, the built-in attacks, reports.
        .target(name: "IPRAttacks", dependencies: ["IPRPassport", "IPRBackdoor", "IPRPlot"], path: "Modules/IPRAttacks"),
        // What the commands do, each one call with typed options and a Codable report: the data side,
        // ownership verification (black-box, white-box, deployed), disputes, attacks and audits.
        .target(name: "IPRWorkflows", dependencies: ["IPRModels", "IPRData", "IPRPassport", "IPRBackdoor", "IPRAttacks", "IPRServe",
                                                     "IPRDistributed", "IPRTensor"],
                path: "Modules/IPRWorkflows"),
        // The command line: each command parses, calls one workflow and prints. A library so that
        // another package ships the same tool with its own attacks and models (Examples/CustomAttack).
        .target(name: "IPRCommands", dependencies: [
            "IPRTensor", "IPRData", "IPRModels", "IPRPassport", "IPRBackdoor", "IPRAttacks", "IPRDistributed", "IPRServe", "IPRWorkflows",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Modules/IPRCommands"),

        // MARK: - Tools
        .executableTarget(name: "iprtool", dependencies: ["IPRCommands"], path: "Tools/iprtool"),
        .executableTarget(name: "iprbench", dependencies: ["IPRTensor", "IPRModels", "IPRData", "IPRPassport"], path: "Tools/bench/Sources"),

        // MARK: - Tests
        // Small models and data that several test targets train on (in no product).
        .target(name: "IPRTestSupport", dependencies: ["IPRModels", "IPRPassport", "IPRTensor"], path: "Tests/Support"),
        .testTarget(name: "CConvTests", dependencies: ["CConv"], path: "Tests/CConvTests"),
        .testTarget(name: "IPRTensorTests", dependencies: ["IPRTensor"], path: "Tests/IPRTensorTests"),
        .testTarget(name: "IPRDataTests", dependencies: ["IPRData"], path: "Tests/IPRDataTests"),
        .testTarget(name: "IPRModelsTests", dependencies: ["IPRModels"], path: "Tests/IPRModelsTests"),
        .testTarget(name: "IPRPassportTests", dependencies: ["IPRPassport", "IPRModels", "IPRTensor", "IPRTestSupport"], path: "Tests/IPRPassportTests"),
        .testTarget(name: "IPRBackdoorTests", dependencies: ["IPRBackdoor", "IPRPassport", "IPRModels", "IPRData", "IPRTensor"],
                    path: "Tests/IPRBackdoorTests"),
        .testTarget(name: "IPRPlotTests", dependencies: ["IPRPlot"], path: "Tests/IPRPlotTests"),
        .testTarget(name: "IPRAttacksTests", dependencies: ["IPRAttacks", "IPRPassport", "IPRBackdoor", "IPRData", "IPRModels", "IPRTensor", "IPRTestSupport"],
                    path: "Tests/IPRAttacksTests"),
        .testTarget(name: "IPRServeTests", dependencies: ["IPRServe", "IPRWorkflows", "IPRBackdoor", "IPRData", "IPRModels", "IPRTensor", "IPRTestSupport",
                                                         .product(name: "AsyncHTTPClient", package: "async-http-client")], path: "Tests/IPRServeTests"),
        .testTarget(name: "IPRWorkflowsTests", dependencies: ["IPRWorkflows", "IPRModels", "IPRTensor"], path: "Tests/IPRWorkflowsTests"),
        .testTarget(name: "IPRCommandsTests", dependencies: ["IPRCommands", "IPRAttacks", "IPRModels",
                                                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
                    path: "Tests/IPRCommandsTests"),
        .testTarget(name: "IPRToolTests", dependencies: ["iprtool", "IPRTensor"], path: "Tests/IPRToolTests"),
    ]
)
