/// The parts of a Hugging Face `tokenizer_config.json` this module reads.
struct TokenizerConfigJSON: Decodable {
    var chatTemplate: String?
    var addBOSToken: Bool?
    var addEOSToken: Bool?
    var bosToken: String?
    var eosToken: String?
    var unknownToken: String?
    var paddingToken: String?

    enum CodingKeys: String, CodingKey {
        case chatTemplate = "chat_template"
        case addBOSToken = "add_bos_token"
        case addEOSToken = "add_eos_token"
        case bosToken = "bos_token"
        case eosToken = "eos_token"
        case unknownToken = "unk_token"
        case paddingToken = "pad_token"
    }

    /// A token written as a plain string or as an added-token object with `content`.
    private struct TokenText: Decodable {
        var text: String?
        private enum Keys: String, CodingKey { case content }
        init(from decoder: any Decoder) throws {
            if let plain = try? decoder.singleValueContainer().decode(String.self) {
                text = plain
            } else if let object = try? decoder.container(keyedBy: Keys.self) {
                text = try object.decodeIfPresent(String.self, forKey: .content)
            } else {
                text = nil
            }
        }
    }

    /// A chat template written as one string or as a list of named templates.
    private struct NamedTemplate: Decodable {
        var name: String
        var template: String
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let text = try? container.decodeIfPresent(String.self, forKey: .chatTemplate) {
            chatTemplate = text
        } else if let named = try? container.decodeIfPresent([NamedTemplate].self, forKey: .chatTemplate) {
            chatTemplate = (named.first { $0.name == "default" } ?? named.first)?.template
        }
        addBOSToken = try? container.decodeIfPresent(Bool.self, forKey: .addBOSToken)
        addEOSToken = try? container.decodeIfPresent(Bool.self, forKey: .addEOSToken)
        bosToken = (try? container.decodeIfPresent(TokenText.self, forKey: .bosToken))?.text
        eosToken = (try? container.decodeIfPresent(TokenText.self, forKey: .eosToken))?.text
        unknownToken = (try? container.decodeIfPresent(TokenText.self, forKey: .unknownToken))?.text
        paddingToken = (try? container.decodeIfPresent(TokenText.self, forKey: .paddingToken))?.text
    }
}
