import StrataFormats
import StrataTokenizer

extension TokenizerSpec {
    /// Texts of control tokens that end generation, as llama.cpp recognises them (end of turn,
    /// end of text, and the fill-in-the-middle repository/pad markers some code models emit).
    static let endOfGenerationTexts: Set<String> = [
        "<|endoftext|>", "<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<|end|>", "<end_of_turn>", "<|end_of_text|>",
        "<EOT>", "<|fim_pad|>", "<|repo_name|>", "<reponame>", "<fim-repo>", "<|fim_repo|>",
    ]

    /// The tokenizer a GGUF file describes in its `tokenizer.ggml.*` and `tokenizer.chat_template` keys.
    static func fromGGUF(_ m: GGUFMetadata) throws(ModelError) -> TokenizerSpec {
        do {
            let modelName = try m.string("tokenizer.ggml.model") ?? ""
            guard let model = TokenizerSpec.Model(rawValue: modelName) else {
                throw ModelError.tokenizer(.unsupportedModel(modelName.isEmpty ? "(no tokenizer.ggml.model)" : modelName))
            }
            guard let tokens = try m.strings("tokenizer.ggml.tokens") else {
                throw ModelError.missingMetadata("tokenizer.ggml.tokens")
            }
            let types = try m.ints("tokenizer.ggml.token_type").map { $0.map { Int32(truncatingIfNeeded: $0) } }
            let isSentencePiece = model == .sentencePiece
            let eos = try m.int("tokenizer.ggml.eos_token_id")
            let eot = try m.int("tokenizer.ggml.eot_token_id")
            var endIDs = Set([eos, eot].compactMap { $0 })
            for (id, text) in tokens.enumerated() where endOfGenerationTexts.contains(text) {
                if types == nil || types?[id] == 3 || types?[id] == 4 { endIDs.insert(id) }
            }
            return TokenizerSpec(
                model: model,
                preTokenizer: try m.string("tokenizer.ggml.pre") ?? "default",
                tokens: tokens,
                scores: try m.floats("tokenizer.ggml.scores"),
                tokenTypes: types,
                merges: try m.strings("tokenizer.ggml.merges") ?? [],
                bosID: try m.int("tokenizer.ggml.bos_token_id"),
                eosID: eos,
                unknownID: try m.int("tokenizer.ggml.unknown_token_id"),
                paddingID: try m.int("tokenizer.ggml.padding_token_id"),
                addBOS: try m.bool("tokenizer.ggml.add_bos_token") ?? isSentencePiece,
                addEOS: try m.bool("tokenizer.ggml.add_eos_token") ?? false,
                addSpacePrefix: try m.bool("tokenizer.ggml.add_space_prefix") ?? isSentencePiece,
                endOfGenerationIDs: endIDs,
                chatTemplate: try m.string("tokenizer.chat_template"))
        } catch let e as ModelError {
            throw e
        } catch let e as GGUFError {
            throw .gguf(e)
        } catch {
            throw .notAModel(path: "", reason: "\(error)")
        }
    }
}
