// swift-tools-version:6.2
import PackageDescription

/// Warnings are errors in CI, where a clean tree must build without noise.
let isCI = Context.environment["CI"] != nil
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
] + (isCI ? [.treatAllWarnings(as: .error)] : [])

let package = Package(
    name: "Strata",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "strata", targets: ["strata"]),
        .library(name: "StrataModel", targets: ["StrataModel"]),
        .library(name: "StrataKernels", targets: ["StrataKernels"]),
        .library(name: "StrataTokenizer", targets: ["StrataTokenizer"]),
        /// For the nested FuzzTesting package.
        .library(name: "StrataWire", targets: ["StrataWire"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // MARK: - System libraries
        .systemLibrary(
            name: "CStrataBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CStrataNUMA",
            providers: [.apt(["libnuma-dev"])]
        ),
        .systemLibrary(
            name: "CStrataZlib",
            providers: [.apt(["zlib1g-dev"])]
        ),

        // MARK: - Numeric core
        /// Block-format dot products and (de)quantisation in C: AVX2/FMA with a portable fallback.
        .target(
            name: "CStrataKernels",
            cSettings: [.unsafeFlags(["-O3"])]
        ),
        /// Model files: GGUF (read and write), safetensors, Hugging Face config.
        .target(name: "StrataFormats", swiftSettings: strictSettings),
        /// Byte-level BPE and SentencePiece tokenizers, streaming detokenizer, chat templates.
        .target(name: "StrataTokenizer", swiftSettings: strictSettings),
        /// Swift kernels over the C core: matvec/matmul by weight type, norms, RoPE, attention, thread pool.
        .target(
            name: "StrataKernels",
            dependencies: ["CStrataKernels", "CStrataBLAS", "CStrataNUMA", "StrataFormats"],
            swiftSettings: strictSettings
        ),
        /// The LLaMA model: configuration, weights, forward pass with exits, KV cache, sampler, generator.
        .target(
            name: "StrataModel",
            dependencies: ["StrataFormats", "StrataKernels", "StrataTokenizer", "CStrataKernels"],
            swiftSettings: strictSettings
        ),
        /// The wire protocol: frames, messages, handshake state machines (bytes only, no model types).
        .target(
            name: "StrataWire",
            dependencies: [.product(name: "NIOCore", package: "swift-nio"), .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        /// Workers and the coordinator: TCP links, the chain of stages, distributed generation.
        .target(
            name: "StrataCluster",
            dependencies: [
                "StrataModel", "StrataWire", "StrataKernels", "StrataTokenizer",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings
        ),
        /// The OpenAI-style HTTP API on the coordinator: admission, depth policy, metrics.
        .target(
            name: "StrataHTTPAPI",
            dependencies: [
                "StrataCluster", "StrataModel", "StrataTokenizer",
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSettings
        ),
        /// Sorted Fine-Tuning: a trainable LLaMA (forward and backward), AdamW, data, checkpoints, GGUF export.
        .target(
            name: "StrataTrain",
            dependencies: [
                "StrataModel", "StrataFormats", "StrataKernels", "StrataTokenizer", "StrataWire", "CStrataBLAS", "CStrataKernels",
            ],
            swiftSettings: strictSettings
        ),
        /// Line charts rendered to PNG (a built-in bitmap font, zlib for compression).
        .target(name: "StrataPlot", dependencies: ["CStrataZlib"], swiftSettings: strictSettings),
        /// The commands' logic, shared by the CLI and the tests.
        .target(
            name: "StrataApp",
            dependencies: [
                "StrataModel", "StrataFormats", "StrataTokenizer", "StrataKernels", "StrataCluster", "StrataWire",
                "CStrataKernels", "StrataHTTPAPI", "StrataPlot", "StrataTrain", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "strata",
            dependencies: [
                "StrataApp", "StrataModel", "StrataCluster",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),

        // MARK: - Tests
        .target(
            name: "StrataTestSupport",
            path: "Tests/StrataTestSupport",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "CStrataKernelsTests",
            dependencies: ["CStrataKernels", "StrataTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "StrataFormatsTests",
            dependencies: ["StrataFormats", "StrataTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "StrataTokenizerTests",
            dependencies: ["StrataTokenizer", "StrataTestSupport"],
            resources: [.copy("Fixtures")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "StrataWireTests",
            dependencies: [
                "StrataWire", "StrataTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "StrataClusterTests",
            dependencies: [
                "StrataCluster", "StrataApp", "StrataModel", "StrataWire", "StrataTestSupport", "StrataHTTPAPI",
                "StrataTokenizer", .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "StrataTrainTests",
            dependencies: ["StrataTrain", "StrataModel", "StrataFormats", "StrataKernels", "StrataTokenizer", "StrataTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "StrataPlotTests",
            dependencies: ["StrataPlot", "CStrataZlib"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "StrataKernelsTests",
            dependencies: ["StrataKernels", "StrataTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "StrataModelTests",
            dependencies: [
                "StrataModel", "StrataApp", "StrataFormats", "StrataKernels", "StrataTokenizer", "StrataTestSupport",
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: strictSettings
        ),
    ]
)
