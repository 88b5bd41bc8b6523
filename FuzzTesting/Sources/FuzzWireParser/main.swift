import CFuzzerDriver
import FuzzSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One input: parse every frame in it; trap when an invariant breaks, so libFuzzer keeps the input as a crash.
/// Parse errors are expected and fine.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWireParser(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { [UInt8](UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let (_, violations) = WireFuzzing.parse(bytes)
    if let first = violations.first { fatalError("parser invariant broken: \(first)") }
    return 0
}

// SwiftPM makes this file's top-level code the program's `main`, so start libFuzzer's driver here.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(withUnsafeMutablePointer(to: &argv) { LLVMFuzzerRunDriver(&argc, $0, fuzzWireParser) })
