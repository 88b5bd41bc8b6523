import CFuzzerDriver
import FuzzSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Drives both handshake state machines as each input dictates; traps when an invariant breaks (a side
// establishing without the shared secret, for one), so libFuzzer keeps the input as a crash.
var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
let status = withUnsafeMutablePointer(to: &argv) { argvPointer in
    LLVMFuzzerRunDriver(&argc, argvPointer) { data, size in
        let bytes = data.map { [UInt8](UnsafeBufferPointer(start: $0, count: size)) } ?? []
        let outcome = WireFuzzing.handshake(bytes)
        if let first = outcome.violations.first { fatalError("handshake invariant broken: \(first)") }
        return 0
    }
}
exit(status)
