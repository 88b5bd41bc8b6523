import Foundation

/// Locates the default model for tests that need it.
///
/// `scripts/test` installs the model and sets `STRATA_REQUIRE_MODEL=1`, so a missing model fails
/// there; a bare `swift test` without it skips those tests' model-dependent parts.
public enum ModelFixture {
    public static let fileName = "SmolLM2-135M-Instruct.Q4_1.gguf"

    public static func path() -> String? {
        let env = ProcessInfo.processInfo.environment
        var candidates: [String] = []
        if let explicit = env["STRATA_TEST_MODEL"] { candidates.append(explicit) }
        // Tests run from the package root; also look relative to this source file.
        candidates.append("models/" + fileName)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        candidates.append(root.appendingPathComponent("models/" + fileName).path)
        if let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) { return found }
        if env["STRATA_REQUIRE_MODEL"] == "1" {
            preconditionFailure("STRATA_REQUIRE_MODEL=1 but \(fileName) was not found; run scripts/bootstrap.sh")
        }
        return nil
    }
}
