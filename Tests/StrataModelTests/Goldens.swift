import Foundation

/// The golden files written by `scripts/golden/make_model_goldens.py` (see scripts/golden/README.md).
enum Goldens {
    struct ReferenceExits: Decodable {
        struct Prompt: Decodable {
            struct Result: Decodable {
                let exit: Int
                let position: Int
                let top: [[Double]]
                let probe_logits: [Double]
                let logsumexp: Double
            }
            let name: String
            let token_ids: [Int]
            let results: [Result]
        }
        let format: String
        let model_sha256: String
        let probe_ids: [Int]
        let prompts: [Prompt]
    }

    struct LlamaCppLogits: Decodable {
        struct Prompt: Decodable {
            struct Position: Decodable {
                let position: Int
                let top: [[Double]]
                let margin: Double
            }
            let name: String
            let token_ids: [Int]
            let positions: [Position]
            let last_probe_logits: [Double]
        }
        let format: String
        let probe_ids: [Int]
        let margin_clear: Double
        let prompts: [Prompt]
    }

    struct Greedy: Decodable {
        struct Prompt: Decodable {
            struct Disagreement: Decodable { let step: Int }
            let name: String
            let prompt_ids: [Int]
            let generated_ids: [Int]
            let margins: [Double]
            let reference_disagreements: [Disagreement]
        }
        let format: String
        let prompts: [Prompt]
    }

    static func load<T: Decodable>(_ name: String, as: T.Type) throws -> T {
        guard let url = Bundle.module.url(forResource: "Fixtures/" + name, withExtension: nil) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: name])
        }
        return try JSONDecoder().decode(T.self, from: Data(contentsOf: url))
    }
}
