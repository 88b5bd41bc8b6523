import Foundation
import StrataApp
import StrataModel
import StrataTokenizer
import StrataTestSupport
import Testing

/// The commands' library functions, as the CLI calls them.
@Suite struct CommandTests {
    @Test func tokenizePrintsIDsAndMapsSpecialTokens() throws {
        guard let path = ModelFixture.path() else { return }
        let json = try tokenizeText(modelPath: path, text: "<|im_start|>user\nHi<|im_end|>", addSpecial: true)
        let ids = try JSONDecoder().decode([String: [Int]].self, from: Data(json.utf8))["ids"]
        #expect(ids?.first == 1 && ids?.last == 2)
        #expect(!json.contains("\n"))
    }

    @Test func logitsReportsEachExitWithTopEntriesDescending() throws {
        guard let path = ModelFixture.path() else { return }
        let json = try exitLogits(
            modelPath: path, tokenIDs: [1, 9690, 198], exits: .layers([9, 30]), top: 4, engine: EngineOptions(threads: 2))
        struct Output: Decodable {
            struct Exit: Decodable {
                struct Entry: Decodable { let id: Int; let logit: Float }
                let layer: Int
                let top: [Entry]
            }
            let token_ids: [Int]
            let exits: [Exit]
        }
        let output = try JSONDecoder().decode(Output.self, from: Data(json.utf8))
        #expect(output.token_ids == [1, 9690, 198])
        #expect(output.exits.map(\.layer) == [9, 30])
        for exit in output.exits {
            #expect(exit.top.count == 4)
            #expect(zip(exit.top, exit.top.dropFirst()).allSatisfy { $0.logit >= $1.logit })
        }
    }

    @Test func argumentParsersGiveClearErrors() throws {
        #expect(throws: AppError.invalidArgument("--token-ids: \"x\" is not a token id")) { try parseTokenIDs("1,x") }
        #expect(throws: AppError.self) { try parseTokenIDs("") }
        #expect(throws: AppError.self) { try ExitSelection(parsing: "9,a") }
        #expect(try ExitSelection(parsing: "all") == .all)
        #expect(try ExitSelection(parsing: "9, 12") == .layers([9, 12]))
    }

    @Test func generateStreamsTheSameTextItReturns() throws {
        guard let path = ModelFixture.path() else { return }
        var config = GenerateConfig(modelPath: path, prompt: "The capital of France is")
        config.options = GenerationOptions(maxTokens: 12)
        config.engine = EngineOptions(threads: 2)
        var streamed = ""
        let result = try runGenerate(config) { streamed += $0 }
        #expect(streamed == result.text)
        #expect(result.tokens.count <= 12 && !result.tokens.isEmpty)
        #expect(generationSummary(result).hasPrefix("exit 30/30"))
    }

    @Test func chatPromptsUseTheModelsTemplate() throws {
        guard let loaded = ModelHarness.loaded else { return }
        let ids = try promptTokens(for: loaded.tokenizer, prompt: "Hi", chat: true, system: nil)
        let text = try loaded.tokenizer.decode(ids)
        #expect(text.hasPrefix("<|im_start|>system\nYou are a helpful AI assistant named SmolLM"))
        #expect(text.hasSuffix("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"))
    }

    @Test func oversizedPromptIsAnError() throws {
        guard let model = ModelHarness.model(exact: false) else { return }
        let generator = Generator(model: model)
        #expect(throws: ModelError.contextOverflow(needed: 40, limit: 32)) {
            try generator.generate(prompt: Array(repeating: 28, count: 32), options: GenerationOptions(maxTokens: 8), contextLimit: 32)
        }
    }
}
