import Foundation
import StrataApp
import StrataTestSupport
import Testing

/// Reports of `strata eval` runs made at different times join one table (`--include`) only
/// when they were measured alike.
@Suite struct EvalReportTests {
    static func report(_ labels: [String], examples: Int = 100, questions: Int = 50, exact: Bool = false) -> EvalReport {
        EvalReport(
            models: labels.map { label in
                ModelEvaluation(
                    label: label, path: "/models/\(label).gguf", recordedExits: [9, 30],
                    exits: [
                        ExitMetrics(exit: 9, perplexity: 40, agreement: 0.3, kl: 1.5, exactMatch: 0.02),
                        ExitMetrics(exit: 30, perplexity: 8, agreement: 1, kl: 0, exactMatch: 0.1),
                    ],
                    responseTokens: examples * 20, questions: questions)
            },
            examples: examples, exact: exact)
    }

    @Test func includedModelsComeFirstAndSurviveAJSONRoundTrip() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("strata-eval-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("earlier.json").path
        try JSONEncoder().encode(Self.report(["base", "soft"])).write(to: URL(fileURLWithPath: path))
        let merged = try mergeEvalReports([try EvalReport.read(path: path)], Self.report(["sft"]))
        #expect(merged.models.map(\.label) == ["base", "soft", "sft"])
        #expect(merged.models[1].exits[0] == ExitMetrics(exit: 9, perplexity: 40, agreement: 0.3, kl: 1.5, exactMatch: 0.02))
        let table = evalTable(merged)
        #expect(table.contains("base  (2000 response tokens, 50 questions)") && table.contains("sft  ("))
        #expect(table.contains("     9        40.00        30.0%     1.500     2.0%"), "\(table)")
    }

    @Test func answersMatchAliasesAfterNormalisationAndEmptyOnesNever() {
        #expect(answerMatches("Paris", aliases: ["paris"]))
        #expect(answerMatches("  The Atlantic!", aliases: ["Atlantic Ocean", "atlantic"]))
        #expect(!answerMatches("Atlantic Ocean, mostly", aliases: ["Atlantic Ocean"]))
        // Aliases that normalise to nothing ("The", "?") must not credit an empty or article-only answer.
        #expect(!answerMatches("", aliases: ["The", "?"]))
        #expect(!answerMatches("the", aliases: ["The"]))
        #expect(answerContains("It is the Atlantic Ocean.", aliases: ["Pacific", "Atlantic Ocean"]))
        #expect(answerContains("Onions!", aliases: ["onions"]) && !answerContains("Onions", aliases: ["onion"]))
        #expect(!answerContains("The answer is unclear", aliases: ["The", "?"]))
    }

    @Test func reportsMeasuredDifferentlyAreRefused() {
        #expect(throws: AppError.self) { try mergeEvalReports([Self.report(["a"], exact: true)], Self.report(["b"])) }
        #expect(throws: AppError.self) { try mergeEvalReports([Self.report(["a"], examples: 50)], Self.report(["b"])) }
        #expect(throws: AppError.self) { try mergeEvalReports([Self.report(["a"], questions: 10)], Self.report(["b"])) }
        #expect(throws: AppError.self) { try mergeEvalReports([Self.report(["a"])], Self.report(["a"])) }
        #expect(throws: AppError.self) { try EvalReport.read(path: "/nonexistent/report.json") }
    }
}

/// `runEval` on the default model with a few examples of its own: the last exit agrees with
/// itself, the full model explains its references better than an early exit, and a question
/// the model answers is counted.
@Suite struct EvalRunTests {
    @Test func perExitFiguresBehaveOnTheDefaultModel() async throws {
        guard let model = ModelFixture.path() else { return }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("strata-evalrun-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("instructions.jsonl").path
        let qa = folder.appendingPathComponent("qa.jsonl").path
        try """
        {"instruction": "Name the largest planet in the solar system.", "input": "", "reference_output": "The largest planet in the solar system is Jupiter."}
        {"instruction": "Translate to French.", "input": "Good morning", "reference_output": "Bonjour"}
        {"instruction": "Give a synonym of happy.", "input": "", "output": "A synonym of happy is joyful."}
        """.write(toFile: data, atomically: true, encoding: .utf8)
        try """
        {"question": "What is 2 + 2? Answer with a number.", "answers": ["4", "four"]}
        {"question": "Which ocean lies between Europe and America?", "answers": ["Atlantic", "Atlantic Ocean", "The Atlantic"]}
        """.write(toFile: qa, atomically: true, encoding: .utf8)
        var config = EvalConfig(models: [model], engine: EngineOptions(threads: 2))
        config.dataPath = data
        config.qaPath = qa
        config.exits = [9, 30]
        let report = try await runEval(config) { _ in }
        let m = try #require(report.models.first)
        #expect(report.examples == 3 && m.questions == 2 && m.responseTokens > 20)
        let early = try #require(m.exits.first { $0.exit == 9 }), full = try #require(m.exits.first { $0.exit == 30 })
        #expect(full.agreement == 1 && (full.kl ?? 1) < 1e-6, "the last exit against itself")
        #expect((early.agreement ?? 1) < 0.5 && (early.kl ?? 0) > 1, "exit 9 of an unsorted model is far from its last")
        let fullPerplexity = try #require(full.perplexity), earlyPerplexity = try #require(early.perplexity)
        #expect(fullPerplexity > 1 && fullPerplexity < 60 && earlyPerplexity > 4 * fullPerplexity, "\(earlyPerplexity) vs \(fullPerplexity)")
        #expect(m.exits.allSatisfy { ($0.exactMatch ?? -1) >= 0 && ($0.exactMatch ?? 2) <= 1 })
        #expect((full.answerContains ?? 0) > 0, "the full model answers neither question in words containing the answer")
    }
}
