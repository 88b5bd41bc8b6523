import CFuzzerDriver
import FuzzSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One input: drive both handshake state machines as it dictates; trap when an invariant breaks (a side
/// establishing without the shared secret, for one), so libFuzzer keeps the input as a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHandshake(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { [UInt8](UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let outcome = WireFuzzing.handshake(bytes)
    if let first = outcome.violations.first { fatalError("handshake invariant broken: \(first)") }
    return 0
}

// SwiftPM makes this file's top-level code the program's `main`, so start libFuzzer's driver here.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(withUnsafeMutablePointer(to: &argv) { LLVMFuzzerRunDriver(&argc, $0, fuzzHandshake) })
