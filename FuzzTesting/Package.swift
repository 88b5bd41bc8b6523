// swift-tools-version:6.2
import PackageDescription

// libFuzzer harnesses for StrataWire. Kept out of the main package because they need
// `-sanitize=fuzzer`, which must not reach the normal build. See README.md.
let package = Package(
    name: "StrataFuzzTesting",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Strata", path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        /// The fuzz drivers, shared with StrataWireTests (the source is a link to the test target's file).
        .target(
            name: "FuzzSupport",
            dependencies: [
                .product(name: "StrataWire", package: "Strata"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        /// Declares libFuzzer's `LLVMFuzzerRunDriver`, which each harness's `main` calls.
        .target(name: "CFuzzerDriver"),
        .executableTarget(name: "FuzzWireParser", dependencies: ["FuzzSupport", "CFuzzerDriver"]),
        .executableTarget(name: "FuzzHandshake", dependencies: ["FuzzSupport", "CFuzzerDriver"]),
    ]
)
