import Foundation
import StrataFormats
import StrataTestSupport

/// A tiny random LLaMA GGUF with a byte-level BPE tokenizer and a ChatML template, for the
/// inference-agreement, data and export tests. Seeded; d = 32 so Q8_0 rows fit.
struct TinyLlamaFile {
    var layers: Int { 3 }
    var hidden: Int { 32 }
    var heads: Int { 4 }
    var kvHeads: Int { 2 }
    var headDim: Int { 8 }
    var ffn: Int { 64 }
    static let specials = ["<|im_start|>", "<|im_end|>", "<|endoftext|>"]
    static let merged = ["he", "ll", "Ġt"]
    let merges = ["h e", "l l", "Ġ t"]
    /// Per-pair RoPE frequency divisors stored as `rope_freqs.weight` (a tensor training must copy through).
    var ropeFactors: [Float] { [1, 1, 2, 4] }
    var vocabulary: Int { 256 + Self.merged.count + Self.specials.count }
    var tokens: [String] { Self.byteSymbols + Self.merged + Self.specials }
    /// (GGUF name, ggml dimensions, values)
    let tensors: [(String, [Int], [Float])]

    init(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var t: [(String, [Int], [Float])] = []
        let (layers, hidden, heads, kvHeads, headDim, ffn) = (3, 32, 4, 2, 8, 64)
        let ropeFactors: [Float] = [1, 1, 2, 4]
        func matrix(_ name: String, rows: Int, columns: Int, scale: Float) {
            t.append((name, [columns, rows], rng.floats(rows * columns, scale: scale)))
        }
        func norm(_ name: String) {
            t.append((name, [hidden], (0..<hidden).map { _ in 1 + rng.float(scale: 0.2) }))
        }
        matrix("token_embd.weight", rows: 256 + Self.merged.count + Self.specials.count, columns: hidden, scale: 1)
        norm("output_norm.weight")
        t.append(("rope_freqs.weight", [ropeFactors.count], ropeFactors))
        for l in 0..<layers {
            norm("blk.\(l).attn_norm.weight")
            matrix("blk.\(l).attn_q.weight", rows: heads * headDim, columns: hidden, scale: 0.3)
            matrix("blk.\(l).attn_k.weight", rows: kvHeads * headDim, columns: hidden, scale: 0.3)
            matrix("blk.\(l).attn_v.weight", rows: kvHeads * headDim, columns: hidden, scale: 0.3)
            matrix("blk.\(l).attn_output.weight", rows: hidden, columns: heads * headDim, scale: 0.2)
            norm("blk.\(l).ffn_norm.weight")
            matrix("blk.\(l).ffn_gate.weight", rows: ffn, columns: hidden, scale: 0.25)
            matrix("blk.\(l).ffn_up.weight", rows: ffn, columns: hidden, scale: 0.25)
            matrix("blk.\(l).ffn_down.weight", rows: hidden, columns: ffn, scale: 0.2)
        }
        tensors = t
    }

    /// GPT-2's printable stand-ins for the 256 byte values: printable Latin-1 bytes stand for
    /// themselves, the rest take code points from U+0100 on, in byte order.
    static let byteSymbols: [String] = {
        let printable = Set(Array(33...126) + Array(161...172) + Array(174...255))
        var next = 256
        return (0..<256).map { b in
            let code: Int
            if printable.contains(b) {
                code = b
            } else {
                code = next
                next += 1
            }
            return UnicodeScalar(UInt32(code)).map { String(Character($0)) } ?? "?"
        }
    }()

    static let chatTemplate =
        "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n{% endfor %}"
        + "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"

    func write(to path: String) throws {
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        w.set("general.name", .string("tiny-train"))
        w.set("llama.block_count", .uint32(UInt32(layers)))
        w.set("llama.embedding_length", .uint32(UInt32(hidden)))
        w.set("llama.feed_forward_length", .uint32(UInt32(ffn)))
        w.set("llama.attention.head_count", .uint32(UInt32(heads)))
        w.set("llama.attention.head_count_kv", .uint32(UInt32(kvHeads)))
        w.set("llama.rope.freq_base", .float32(10_000))
        w.set("llama.attention.layer_norm_rms_epsilon", .float32(1e-5))
        w.set("llama.context_length", .uint32(512))
        w.set("tokenizer.ggml.model", .string("gpt2"))
        w.set("tokenizer.ggml.pre", .string("gpt2"))
        w.set("tokenizer.ggml.tokens", .array(.string, tokens.map { .string($0) }))
        let types = tokens.indices.map { $0 >= 256 + Self.merged.count ? Int32(3) : Int32(1) }
        w.set("tokenizer.ggml.token_type", .array(.int32, types.map { .int32($0) }))
        w.set("tokenizer.ggml.merges", .array(.string, merges.map { .string($0) }))
        w.set("tokenizer.ggml.bos_token_id", .uint32(UInt32(256 + Self.merged.count)))
        w.set("tokenizer.ggml.eos_token_id", .uint32(UInt32(256 + Self.merged.count + 1)))
        w.set("tokenizer.ggml.add_bos_token", .bool(false))
        w.set("tokenizer.chat_template", .string(Self.chatTemplate))
        for (name, dimensions, values) in tensors {
            try w.add(name: name, dimensions: dimensions, floats: values)
        }
        try w.write(to: path)
    }

    /// Writes a file of this seed into `directory` and returns its path.
    static func write(seed: UInt64, in directory: TemporaryDirectory, name: String = "tiny.gguf") throws -> String {
        let path = directory.path + "/" + name
        try TinyLlamaFile(seed: seed).write(to: path)
        return path
    }
}

/// A temporary directory removed when the value goes away.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("strata-train-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
