import Foundation
import Testing

@testable import StrataKernels

@Suite struct BLASCoreTests {
    /// Only a fallback below what the CPU runs is replaced, by the widest family the CPU supports.
    @Test func replacesOnlyFallbacksBelowTheCPU() {
        #expect(BLASCore.preferred(current: "Prescott", hasAVX2: true, hasAVX512: true) == "SkylakeX")
        #expect(BLASCore.preferred(current: "Prescott", hasAVX2: true, hasAVX512: false) == "Haswell")
        #expect(BLASCore.preferred(current: "Sandybridge", hasAVX2: true, hasAVX512: false) == "Haswell")
        #expect(BLASCore.preferred(current: "Core2", hasAVX2: true, hasAVX512: true) == "SkylakeX")
        // A CPU without AVX2 keeps what the library chose, whatever it is.
        #expect(BLASCore.preferred(current: "Prescott", hasAVX2: false, hasAVX512: false) == nil)
        #expect(BLASCore.preferred(current: "Sandybridge", hasAVX2: false, hasAVX512: false) == nil)
        // Families that are already vectorised are left alone, however the name is cased.
        for family in ["Haswell", "SkylakeX", "COOPERLAKE", "SapphireRapids", "Zen", "excavator"] {
            #expect(BLASCore.preferred(current: family, hasAVX2: true, hasAVX512: true) == nil, "\(family)")
        }
    }

    /// The library reports a family, and on this CPU `preferred` agrees with what the CPU has.
    @Test func reportsTheLibrarysFamily() {
        let family = BLASCore.current
        #expect(!family.isEmpty && family != "unknown")
        if let wanted = BLASCore.preferredForThisMachine {
            #expect(!BLASCore.vectorFamilies.contains(family.lowercased()))
            #expect(["SkylakeX", "Haswell"].contains(wanted))
        }
    }

    /// The `strata` program re-executes itself onto vectorised kernels when the library fell back:
    /// with OPENBLAS_CORETYPE unset, `strata info --machine` reports a vectorised family on any AVX2 CPU; and
    /// a family the user sets is kept.
    @Test func theProgramRunsOnVectorisedKernels() throws {
        // `swift build --build-tests` links the program beside the test bundle.
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("strata"),
            URL(fileURLWithPath: ".build/debug/strata"),
        ]
        let found = candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
        if ProcessInfo.processInfo.environment["STRATA_REQUIRE_MODEL"] == "1" {
            #expect(found != nil, "no strata program at \(candidates.map(\.path))")
        }
        guard let binary = found else { return }
        func machineLine(coreType: String?) throws -> String {
            let process = Process()
            process.executableURL = binary
            process.arguments = ["info", "--machine"]
            var environment = ProcessInfo.processInfo.environment
            environment["OPENBLAS_CORETYPE"] = coreType
            process.environment = environment
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        let automatic = try machineLine(coreType: nil)
        let family = try #require(Self.family(in: automatic), "no OpenBLAS family in: \(automatic)")
        if BLASCore.cpuHasAVX2 {
            #expect(BLASCore.vectorFamilies.contains(family.lowercased()), "\(automatic)")
        }
        let chosen = try machineLine(coreType: "Prescott")
        #expect(Self.family(in: chosen)?.lowercased() == "prescott", "\(chosen)")
    }

    static func family(in output: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix("openblas: ") }.map { String($0.dropFirst("openblas: ".count)) }
    }
}
