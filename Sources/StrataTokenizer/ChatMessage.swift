/// One turn of a conversation.
public struct ChatMessage: Sendable, Codable, Equatable {
    /// "system", "user" or "assistant".
    public var role: String
    public var content: String

    /// Creates a message.
    /// - Parameters:
    ///   - role: "system", "user" or "assistant".
    ///   - content: The text of the turn.
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}
