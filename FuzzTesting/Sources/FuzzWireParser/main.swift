import CFuzzerDriver
import FuzzSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Parses every frame in each input; traps when an invariant breaks, so libFuzzer keeps the input as a crash.
// Parse errors are expected and fine.
var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
let status = withUnsafeMutablePointer(to: &argv) { argvPointer in
    LLVMFuzzerRunDriver(&argc, argvPointer) { data, size in
        let bytes = data.map { [UInt8](UnsafeBufferPointer(start: $0, count: size)) } ?? []
        let (_, violations) = WireFuzzing.parse(bytes)
        if let first = violations.first { fatalError("parser invariant broken: \(first)") }
        return 0
    }
}
exit(status)
