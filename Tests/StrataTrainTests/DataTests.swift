import Foundation
import StrataModel
import StrataTokenizer
import Testing

@testable import StrataTrain

/// JSONL reading and chat-template encoding with response-only masks.
@Suite struct DataTests {
    @Test func parsesAlpacaLinesAndNamesTheBadLine() throws {
        let good = """
            {"instruction": "Say hi.", "input": "", "output": "Hi!", "source": "x"}

            {"instruction": "Add", "input": "2 and 3", "output": "5"}
            {"instruction": "No input field", "output": "ok"}
            """
        let records = try InstructionData.parse(Data(good.utf8), source: "good.jsonl")
        #expect(records == [
            InstructionRecord(instruction: "Say hi.", output: "Hi!"),
            InstructionRecord(instruction: "Add", input: "2 and 3", output: "5"),
            InstructionRecord(instruction: "No input field", output: "ok"),
        ])
        #expect(records[1].userContent == "Add\n\n2 and 3")
        let cases: [(String, String)] = [
            ("{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": 3, \"output\": \"b\"}", "\"instruction\" is not a string"),
            ("{\"instruction\": \"a\", \"output\": \"b\"}\n\n{\"instruction\": \"a\"}", "missing \"output\""),
            ("[1, 2]", "not a JSON object"),
            ("{\"instruction\": \"a\", \"output\": \"b\"", "not valid JSON"),
        ]
        for (text, reason) in cases {
            #expect(throws: TrainError.self) { try InstructionData.parse(Data(text.utf8), source: "bad.jsonl") }
            do {
                _ = try InstructionData.parse(Data(text.utf8), source: "bad.jsonl")
            } catch {
                if case .invalidData(_, let line, let r) = error {
                    #expect(r == reason)
                    #expect(line == text.split(separator: "\n", omittingEmptySubsequences: false).count)
                }
            }
        }
        #expect(throws: TrainError.self) { try InstructionData.read(path: "/nonexistent/strata.jsonl") }
    }

    func tokenizer() throws -> (Tokenizer, TemporaryDirectory) {
        let directory = try TemporaryDirectory()
        let loaded = try LoadedModel.load(path: try TinyLlamaFile.write(seed: 31, in: directory))
        return (loaded.tokenizer, directory)
    }

    @Test func masksExactlyTheResponseThroughEndOfTurn() throws {
        let (tokenizer, _) = try tokenizer()
        let encoder = try ExampleEncoder(tokenizer: tokenizer, sequenceLength: 512)
        let record = InstructionRecord(instruction: "Tell the hello.", input: "all well", output: "hello there")
        let example = try #require(try encoder.encode(record))
        let ids = example.tokens.map(Int.init)
        let prompt = zip(ids, example.targetMask).filter { !$0.1 }.map(\.0)
        let response = zip(ids, example.targetMask).filter { $0.1 }.map(\.0)
        #expect(try tokenizer.decode(prompt) == "<|im_start|>user\nTell the hello.\n\nall well<|im_end|>\n<|im_start|>assistant\n")
        #expect(try tokenizer.decode(response) == "hello there<|im_end|>")
        // The mask is one contiguous run at the end: context first, then the answer.
        let firstTarget = try #require(example.targetMask.firstIndex(of: true))
        #expect(example.targetMask[firstTarget...].allSatisfy { $0 })
        #expect(example.targetCount == response.count)
        // The prompt is tokenized as `strata generate --chat` would.
        #expect(prompt == tokenizer.encode(
            ChatTemplate.chatML(defaultSystem: nil).render(
                [ChatMessage(role: "user", content: record.userContent)], addGenerationPrompt: true, bosToken: nil),
            addSpecial: false, parseSpecial: true))
    }

    @Test func truncatesAndSkipsExamplesWithoutResponse() throws {
        let (tokenizer, _) = try tokenizer()
        let record = InstructionRecord(instruction: "Tell.", output: "a long answer with many words in it")
        let full = try #require(try ExampleEncoder(tokenizer: tokenizer, sequenceLength: 512).encode(record))
        let promptLength = full.targetMask.firstIndex(of: true) ?? 0
        let cut = try #require(try ExampleEncoder(tokenizer: tokenizer, sequenceLength: promptLength + 3).encode(record))
        #expect(cut.tokens == Array(full.tokens.prefix(promptLength + 3)))
        #expect(cut.targetCount == 3)
        #expect(try ExampleEncoder(tokenizer: tokenizer, sequenceLength: promptLength).encode(record) == nil)
        let (examples, skipped) = try ExampleEncoder(tokenizer: tokenizer, sequenceLength: promptLength).encode([record, record])
        #expect(examples.isEmpty && skipped == 2)
    }

    @Test func refusesAModelWithoutChatTemplate() throws {
        let spec = TokenizerSpec(model: .bytePair, preTokenizer: "gpt2", tokens: TinyLlamaFile.byteSymbols)
        let tokenizer = try Tokenizer(spec: spec)
        #expect(throws: TrainError.self) { try ExampleEncoder(tokenizer: tokenizer, sequenceLength: 64) }
    }
}
