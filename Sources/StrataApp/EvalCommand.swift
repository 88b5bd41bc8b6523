import Foundation
import StrataKernels
import StrataModel
import StrataPlot
import StrataTokenizer
import StrataTrain

/// `strata eval`: per exit, on held-out data, for one or more models — perplexity of reference
/// responses, top-1 agreement and KL divergence with the model's own last exit, and exact-match
/// accuracy of greedy answers on a QA file.
public struct EvalConfig: Sendable {
    public var models: [String]
    public var labels: [String]?
    /// Instruction rows with `instruction`, `input` and a reference (`reference_output` or `output`).
    public var dataPath: String?
    /// Question rows with `question` and `answers`.
    public var qaPath: String?
    public var exits: [Int]?
    public var limit = 200
    public var qaLimit = 200
    public var sequenceLength = 512
    public var qaMaxTokens = 24
    /// f32 activations against dequantised weights, rather than the fast quantised-activation path.
    public var exact = false
    public var engine: EngineOptions

    public init(models: [String], engine: EngineOptions) {
        self.models = models
        self.engine = engine
    }
}

/// One model's figures at one exit.
public struct ExitMetrics: Codable, Sendable, Equatable {
    public var exit: Int
    public var perplexity: Double?
    /// Share of response positions whose top token equals the last exit's.
    public var agreement: Double?
    /// Mean KL(last exit ‖ this exit) over response positions, in nats.
    public var kl: Double?
    public var exactMatch: Double?
    /// Share of questions whose answer contains an alias (whole words, after normalisation).
    public var answerContains: Double?

    public init(
        exit: Int, perplexity: Double? = nil, agreement: Double? = nil, kl: Double? = nil, exactMatch: Double? = nil,
        answerContains: Double? = nil
    ) {
        self.answerContains = answerContains
        self.exit = exit
        self.perplexity = perplexity
        self.agreement = agreement
        self.kl = kl
        self.exactMatch = exactMatch
    }
}

public struct ModelEvaluation: Codable, Sendable {
    public var label: String
    public var path: String
    public var recordedExits: [Int]?
    public var exits: [ExitMetrics]
    public var responseTokens: Int
    public var questions: Int

    public init(
        label: String, path: String, recordedExits: [Int]?, exits: [ExitMetrics], responseTokens: Int, questions: Int
    ) {
        self.label = label
        self.path = path
        self.recordedExits = recordedExits
        self.exits = exits
        self.responseTokens = responseTokens
        self.questions = questions
    }
}

public struct EvalReport: Codable, Sendable {
    public var models: [ModelEvaluation]
    public var examples: Int
    public var exact: Bool

    public init(models: [ModelEvaluation], examples: Int, exact: Bool) {
        self.models = models
        self.examples = examples
        self.exact = exact
    }

    /// Reads a report written with `--json`.
    public static func read(path: String) throws -> EvalReport {
        guard let data = FileManager.default.contents(atPath: path) else { throw AppError.invalidArgument("cannot read \(path)") }
        do {
            return try JSONDecoder().decode(EvalReport.self, from: data)
        } catch {
            throw AppError.invalidArgument("\(path) is not a strata eval report: \(error)")
        }
    }
}

/// One report of `earlier` reports' models followed by `latest`'s, so models evaluated at
/// different times share a table and plot. They must have been measured alike: the same
/// activation path, the same number of examples, and the same questions.
public func mergeEvalReports(_ earlier: [EvalReport], _ latest: EvalReport) throws -> EvalReport {
    var merged = latest
    merged.models = earlier.flatMap(\.models) + latest.models
    for report in earlier {
        guard report.exact == latest.exact else {
            throw AppError.invalidArgument("an included report used \(report.exact ? "--exact" : "the fast path"), this run \(latest.exact ? "--exact" : "the fast path")")
        }
        guard report.examples == latest.examples || report.models.allSatisfy({ $0.responseTokens == 0 }) || latest.models.allSatisfy({ $0.responseTokens == 0 }) else {
            throw AppError.invalidArgument("an included report scored \(report.examples) examples, this run \(latest.examples)")
        }
    }
    let questions = Set(merged.models.map(\.questions).filter { $0 > 0 })
    guard questions.count <= 1 else {
        throw AppError.invalidArgument("the reports answered different numbers of questions: \(questions.sorted())")
    }
    let labels = merged.models.map(\.label)
    guard Set(labels).count == labels.count else {
        throw AppError.invalidArgument("two models are labelled alike (\(labels.joined(separator: ", "))); use --label")
    }
    return merged
}

public func runEval(_ config: EvalConfig, progress: @escaping @Sendable (String) -> Void) async throws -> EvalReport {
    guard config.dataPath != nil || config.qaPath != nil else { throw AppError.invalidArgument("give --data, --qa or both") }
    guard !config.models.isEmpty else { throw AppError.invalidArgument("give at least one --model") }
    if let labels = config.labels, labels.count != config.models.count {
        throw AppError.invalidArgument("--label must be given once per --model (\(config.models.count))")
    }
    return try await withCheckedThrowingContinuation { (c: CheckedContinuation<EvalReport, any Error>) in
        let thread = Thread { c.resume(with: Result { try evaluateBlocking(config, progress: progress) }) }
        thread.stackSize = 16 << 20
        thread.start()
    }
}

private func evaluateBlocking(_ config: EvalConfig, progress: @escaping @Sendable (String) -> Void) throws -> EvalReport {
    let pool = ComputePool(threadCount: config.engine.threadCount)
    var evaluations: [ModelEvaluation] = []
    var exampleCount = 0
    for (m, path) in config.models.enumerated() {
        let loaded = try LoadedModel.load(path: path)
        let layers = loaded.config.layerCount
        let exits = Array(Set((config.exits ?? loaded.sortedExits ?? defaultSortedExits(layerCount: layers)) + [layers])).sorted()
        if let bad = exits.first(where: { !(1...layers).contains($0) }) {
            throw AppError.invalidArgument("--exits: \(bad) is not in 1…\(layers) for \(path)")
        }
        let model = LlamaModel(model: loaded, pool: pool, exact: config.exact)
        let label = config.labels?[m] ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        var metrics = exits.map { ExitMetrics(exit: $0) }
        var responseTokens = 0
        if let data = config.dataPath {
            let examples = try referenceExamples(path: data, tokenizer: loaded.tokenizer, sequenceLength: config.sequenceLength, limit: config.limit)
            exampleCount = examples.count
            let scores = try scoreResponses(model: model, examples: examples, exits: exits) { done in
                progress("\(label): responses \(done)/\(examples.count)")
            }
            responseTokens = scores.tokens
            for i in metrics.indices {
                metrics[i].perplexity = exp(scores.crossEntropy[i])
                metrics[i].agreement = scores.agreement[i]
                metrics[i].kl = scores.kl[i]
            }
        }
        var questions = 0
        if let qa = config.qaPath {
            let items = try readQuestions(path: qa, limit: config.qaLimit)
            questions = items.count
            let accuracy = try answerQuestions(model: model, items: items, exits: exits, maxTokens: config.qaMaxTokens) { done in
                progress("\(label): answers \(done)/\(items.count * exits.count)")
            }
            for i in metrics.indices {
                metrics[i].exactMatch = accuracy.exact[i]
                metrics[i].answerContains = accuracy.contains[i]
            }
        }
        evaluations.append(ModelEvaluation(
            label: label, path: path, recordedExits: loaded.sortedExits, exits: metrics, responseTokens: responseTokens, questions: questions))
    }
    return EvalReport(models: evaluations, examples: exampleCount, exact: config.exact)
}

// MARK: - Responses: perplexity, agreement, KL

/// Held-out instructions with their reference answers, formatted as training formats them
/// (chat template; targets = the response and its end-of-turn token).
func referenceExamples(path: String, tokenizer: Tokenizer, sequenceLength: Int, limit: Int) throws -> [TrainingExample] {
    guard let data = FileManager.default.contents(atPath: path) else { throw AppError.invalidArgument("cannot read \(path)") }
    let encoder = try ExampleEncoder(tokenizer: tokenizer, sequenceLength: sequenceLength)
    var examples: [TrainingExample] = []
    for (n, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() where examples.count < limit {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any] else {
            throw AppError.invalidArgument("\(path):\(n + 1): not a JSON object")
        }
        guard let instruction = object["instruction"] as? String,
            let reference = object["reference_output"] as? String ?? object["output"] as? String,
            !instruction.isEmpty, !reference.isEmpty
        else { continue }
        let record = InstructionRecord(instruction: instruction, input: object["input"] as? String ?? "", output: reference)
        if let example = try encoder.encode(record) { examples.append(example) }
    }
    guard !examples.isEmpty else { throw AppError.invalidArgument("\(path) has no rows with an instruction and a reference answer") }
    return examples
}

struct ResponseScores {
    var crossEntropy: [Double]
    var agreement: [Double]
    var kl: [Double]
    var tokens: Int
}

/// One pass per example through the deepest exit, keeping the hidden states of the positions
/// that predict response tokens at every exit; the head runs on those rows only.
func scoreResponses(model: LlamaModel, examples: [TrainingExample], exits: [Int], progress: (Int) -> Void) throws -> ResponseScores {
    let c = model.config
    let d = c.hiddenSize
    let vocab = c.vocabularySize
    let deepest = exits.max() ?? c.layerCount
    let last = exits.count - 1
    var ce = [Double](repeating: 0, count: exits.count)
    var agree = [Double](repeating: 0, count: exits.count)
    var kl = [Double](repeating: 0, count: exits.count)
    var total = 0
    let workspace = Workspace(config: c)
    for (e, example) in examples.enumerated() {
        let tokens = example.tokens.map(Int.init)
        // Position p predicts token p + 1.
        let rows = (0..<(tokens.count - 1)).filter { example.targetMask[$0 + 1] }
        guard !rows.isEmpty else { continue }
        let cache = KVCache(layers: 0..<deepest, kvDimension: c.kvDimension, limit: tokens.count)
        let hidden = UnsafeMutablePointer<Float>.allocate(capacity: tokens.count * d)
        defer { hidden.deallocate() }
        try model.embed(tokens, into: hidden)
        var saved: [Int: [Float]] = [:]
        let wanted = Set(exits)
        try model.runBlocks(hidden, count: tokens.count, start: 0, layers: 0..<deepest, cache: cache, workspace: workspace) { layer, h in
            guard wanted.contains(layer + 1) else { return }
            var gathered = [Float](repeating: 0, count: rows.count * d)
            for (i, p) in rows.enumerated() {
                for j in 0..<d { gathered[i * d + j] = h[p * d + j] }
            }
            saved[layer + 1] = gathered
        }
        func logProbabilities(_ exit: Int) -> [Float] {
            var logits = [Float](repeating: 0, count: rows.count * vocab)
            saved[exit]?.withUnsafeBufferPointer { h in
                logits.withUnsafeMutableBufferPointer { out in
                    if let hb = h.baseAddress, let ob = out.baseAddress { model.head(hb, rows: rows.count, into: ob, workspace: workspace) }
                }
            }
            for r in 0..<rows.count {
                var peak = -Float.infinity
                for v in 0..<vocab { peak = max(peak, logits[r * vocab + v]) }
                var sum = 0.0
                for v in 0..<vocab { sum += Double(expf(logits[r * vocab + v] - peak)) }
                let shift = peak + Float(log(sum))
                for v in 0..<vocab { logits[r * vocab + v] -= shift }
            }
            return logits
        }
        func argmax(_ lp: [Float], _ r: Int) -> Int {
            var best = 0
            for v in 1..<vocab where lp[r * vocab + v] > lp[r * vocab + best] { best = v }
            return best
        }
        let reference = logProbabilities(exits[last])
        let referenceTop = (0..<rows.count).map { argmax(reference, $0) }
        for (i, exit) in exits.enumerated() {
            let lp = i == last ? reference : logProbabilities(exit)
            for (r, p) in rows.enumerated() {
                ce[i] -= Double(lp[r * vocab + tokens[p + 1]])
                if argmax(lp, r) == referenceTop[r] { agree[i] += 1 }
                if i != last {
                    var divergence = 0.0
                    for v in 0..<vocab {
                        let q = Double(reference[r * vocab + v])
                        divergence += exp(q) * (q - Double(lp[r * vocab + v]))
                    }
                    kl[i] += divergence
                }
            }
        }
        total += rows.count
        if (e + 1) % 10 == 0 || e + 1 == examples.count { progress(e + 1) }
    }
    let n = Double(max(total, 1))
    return ResponseScores(crossEntropy: ce.map { $0 / n }, agreement: agree.map { $0 / n }, kl: kl.map { $0 / n }, tokens: total)
}

// MARK: - QA: exact match

struct Question {
    var question: String
    var answers: [String]
}

func readQuestions(path: String, limit: Int) throws -> [Question] {
    guard let data = FileManager.default.contents(atPath: path) else { throw AppError.invalidArgument("cannot read \(path)") }
    var items: [Question] = []
    for (n, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() where items.count < limit {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any],
            let question = object["question"] as? String
        else { throw AppError.invalidArgument("\(path):\(n + 1): not a question row") }
        let answers = (object["answers"] as? [String]) ?? (object["answer"] as? String).map { [$0] } ?? []
        guard !answers.isEmpty else { throw AppError.invalidArgument("\(path):\(n + 1): no answers") }
        items.append(Question(question: question, answers: answers))
    }
    guard !items.isEmpty else { throw AppError.invalidArgument("\(path) holds no questions") }
    return items
}

/// SQuAD-style normalisation: lower case, no punctuation, no articles, single spaces.
/// Whether a greedy answer matches one of the aliases after SQuAD-style normalisation (lower
/// case, punctuation and articles dropped, spaces collapsed). An answer that normalises to
/// nothing matches nothing, whatever the aliases hold.
public func answerMatches(_ answer: String, aliases: [String]) -> Bool {
    let normalized = normalizeAnswer(answer)
    return !normalized.isEmpty && aliases.contains { normalizeAnswer($0) == normalized }
}

/// Whether an answer contains one of the aliases as whole words after normalisation ("The
/// vegetable is the onion." contains "Onion"); aliases that normalise to nothing never count.
public func answerContains(_ answer: String, aliases: [String]) -> Bool {
    let text = " " + normalizeAnswer(answer) + " "
    return aliases.contains { alias in
        let words = normalizeAnswer(alias)
        return !words.isEmpty && text.contains(" " + words + " ")
    }
}

func normalizeAnswer(_ text: String) -> String {
    let lowered = text.lowercased().map { $0.isPunctuation || $0.isSymbol ? " " : $0 }
    let words = String(lowered).split(whereSeparator: \.isWhitespace).filter { !["a", "an", "the"].contains($0) }
    return words.joined(separator: " ")
}

/// Greedy answers at each exit to the question as a chat turn ("… Answer in a few words.";
/// "Question: …\nAnswer:" for a model without a chat template), cut at the first line break.
/// Scored two ways: an exact match with an alias, and an answer containing one (an instruct
/// model tends to answer in a sentence).
func answerQuestions(
    model: LlamaModel, items: [Question], exits: [Int], maxTokens: Int, progress: (Int) -> Void
) throws -> (exact: [Double], contains: [Double]) {
    let generator = Generator(model: model)
    let tokenizer = model.model.tokenizer
    var hits = [Double](repeating: 0, count: exits.count)
    var contained = [Double](repeating: 0, count: exits.count)
    var done = 0
    for item in items {
        let prompt = try (try? promptTokens(for: tokenizer, prompt: item.question + " Answer in a few words.", chat: true, system: nil))
            ?? promptTokens(for: tokenizer, prompt: "Question: \(item.question)\nAnswer:", chat: false, system: nil)
        for (i, exit) in exits.enumerated() {
            var options = GenerationOptions(maxTokens: maxTokens, exit: exit)
            options.stopAtEndOfGeneration = true
            let result = try generator.generate(prompt: prompt, options: options) { _ in true }
            var answer = result.text
            if let cut = answer.firstIndex(where: { $0 == "\n" }) { answer = String(answer[..<cut]) }
            answer = answer.trimmingCharacters(in: .whitespaces)
            if answer.hasSuffix(".") { answer.removeLast() }
            if answerMatches(answer, aliases: item.answers) { hits[i] += 1 }
            if answerContains(answer, aliases: item.answers) { contained[i] += 1 }
            done += 1
            if done % 20 == 0 { progress(done) }
        }
    }
    return (hits.map { $0 / Double(items.count) }, contained.map { $0 / Double(items.count) })
}

// MARK: - Output

/// The table: one block per model, one row per exit.
public func evalTable(_ report: EvalReport) -> String {
    func f(_ v: Double?, _ format: String) -> String { v.map { String(format: format, $0) } ?? "-" }
    var lines: [String] = []
    for m in report.models {
        lines.append("\(m.label)  (\(m.responseTokens) response tokens, \(m.questions) questions\(report.exact ? ", exact" : ""))")
        lines.append("  exit   perplexity   agree-last   KL-last   QA-EM   QA-contains")
        for e in m.exits {
            lines.append(
                String(format: "  %4d", e.exit) + "   " + f(e.perplexity, (e.perplexity ?? 0) >= 1e6 ? "%10.2e" : "%10.2f") + "   " + f(e.agreement.map { $0 * 100 }, "%9.1f%%")
                    + "   " + f(e.kl, "%7.3f") + "   " + f(e.exactMatch.map { $0 * 100 }, "%5.1f%%") + "   "
                    + f(e.answerContains.map { $0 * 100 }, "%10.1f%%"))
        }
    }
    return lines.joined(separator: "\n")
}

/// Each metric against exit depth, one line per model.
public func evalFigure(_ report: EvalReport) -> Figure {
    func series(_ value: (ExitMetrics) -> Double?) -> [Series] {
        report.models.map { m in
            Series(m.label, points: m.exits.compactMap { e in value(e).map { (x: Double(e.exit), y: $0) } }, style: .lineAndMarkers)
        }
    }
    var panels: [Panel] = []
    if report.models.contains(where: { $0.exits.contains { $0.perplexity != nil } }) {
        panels.append(Panel(title: "Perplexity of reference responses (log10)", xLabel: "exit layer", yLabel: "log10 perplexity", series: series { $0.perplexity.map { log10($0) } }))
        panels.append(Panel(title: "Top-1 agreement with the model's last exit", xLabel: "exit layer", yLabel: "%", series: series { $0.agreement.map { $0 * 100 } }))
        panels.append(Panel(title: "KL(last exit || exit)", xLabel: "exit layer", yLabel: "nats", series: series(\.kl)))
    }
    if report.models.contains(where: { $0.exits.contains { $0.exactMatch != nil } }) {
        panels.append(Panel(title: "QA exact match", xLabel: "exit layer", yLabel: "%", series: series { $0.exactMatch.map { $0 * 100 } }))
        panels.append(Panel(title: "QA answer contains an alias", xLabel: "exit layer", yLabel: "%", series: series { $0.answerContains.map { $0 * 100 } }))
    }
    return Figure(title: "Per-exit evaluation", panels: panels)
}

/// Writes `evalFigure` as a PNG.
public func writeEvalPlot(_ report: EvalReport, to path: String) throws {
    try evalFigure(report).write(to: path)
}
