import Foundation
import StrataTokenizer
import Testing

@Suite("Chat templates")
struct ChatTemplateTests {
    static let smolLM2System = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

    @Test func smolLM2TemplateIsChatMLWithDefaultSystem() throws {
        let tokenizer = try Fixtures.smolLM2Tokenizer()
        #expect(try ChatTemplate.detect(tokenizer.spec.chatTemplate) == .chatML(defaultSystem: Self.smolLM2System))
    }

    static var chatCases: [ChatCase] { (try? Fixtures.smolLM2Goldens.get().chat) ?? [] }

    @Test(.tags(.golden), arguments: chatCases)
    func rendersLikeSmolLM2sJinjaTemplate(_ golden: ChatCase) throws {
        let template = try ChatTemplate.detect(try Fixtures.smolLM2Tokenizer().spec.chatTemplate)
        let rendered = template.render(golden.messages, addGenerationPrompt: golden.addGenerationPrompt, bosToken: nil)
        #expect(sameBytes(rendered, golden.rendered), "\(rendered.debugDescription)")
    }

    @Test func goldenConversationsAreThere() {
        #expect(Self.chatCases.count >= 5)
    }

    @Test func renderedPromptEncodesSpecialTokensAsSingleIDs() throws {
        let tokenizer = try Fixtures.smolLM2Tokenizer()
        let prompt = ChatTemplate.chatML(defaultSystem: nil).render(
            [ChatMessage(role: "user", content: "hi")], addGenerationPrompt: true, bosToken: nil)
        let ids = tokenizer.encode(prompt)
        #expect(ids.first == 1)
        #expect(ids.filter { $0 == 1 }.count == 2)
        #expect(ids.filter { $0 == 2 }.count == 1)
    }

    @Test func llama3() throws {
        let template = try ChatTemplate.detect(
            "{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' }}{% endfor %}")
        #expect(template == .llama3)
        let messages = [
            ChatMessage(role: "system", content: "Be brief."),
            ChatMessage(role: "user", content: "  Hi there \n"),
        ]
        let expected =
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\n"
        #expect(template.render(messages, addGenerationPrompt: true, bosToken: "<|begin_of_text|>") == expected)
        let noPrompt = template.render(messages, addGenerationPrompt: false, bosToken: nil)
        #expect(noPrompt.hasSuffix("Hi there<|eot_id|>"))
        #expect(noPrompt.hasPrefix("<|start_header_id|>system"))
    }

    @Test func llama2() throws {
        let template = try ChatTemplate.detect("{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}")
        #expect(template == .llama2)
        let messages = [
            ChatMessage(role: "system", content: "Be brief."),
            ChatMessage(role: "user", content: "Hi"),
            ChatMessage(role: "assistant", content: "Hello! "),
            ChatMessage(role: "user", content: "Bye"),
        ]
        let expected =
            "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] Bye [/INST]"
        #expect(template.render(messages, addGenerationPrompt: true, bosToken: "<s>") == expected)
        let noSystem = template.render([ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true, bosToken: nil)
        #expect(noSystem == "[INST] Hi [/INST]")
    }

    @Test func qwenStyleDefaultSystemIsFound() throws {
        let template = """
            {%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\
            {%- else %}{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud.<|im_end|>\\n' }}{%- endif %}
            """
        #expect(try ChatTemplate.detect(template) == .chatML(defaultSystem: "You are Qwen, created by Alibaba Cloud."))
    }

    @Test func chatMLWithoutDefaultSystem() throws {
        let template = "{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n'}}{% endfor %}"
        let detected = try ChatTemplate.detect(template)
        #expect(detected == .chatML(defaultSystem: nil))
        #expect(detected.render([ChatMessage(role: "user", content: "x")], addGenerationPrompt: false, bosToken: nil)
            == "<|im_start|>user\nx<|im_end|>\n")
    }

    @Test(arguments: [nil, "", "{{ messages }}", "<start_of_turn>user\n{{ content }}<end_of_turn>"])
    func unknownTemplatesAreRejected(_ template: String?) {
        #expect {
            try ChatTemplate.detect(template)
        } throws: { error in
            guard case TokenizerError.unrecognizedChatTemplate(let message) = error else { return false }
            return !message.isEmpty
        }
    }

    @Test func messagesAreCodable() throws {
        let message = ChatMessage(role: "user", content: "hé")
        let data = try JSONEncoder().encode(message)
        #expect(try JSONDecoder().decode(ChatMessage.self, from: data) == message)
    }
}
