import Foundation

/// How ``PretrainingModel/generate(_:options:promptIndexOffset:observe:)`` picks each next token.
public enum Decoding: Sendable, Equatable {
    /// The most likely token (transformers' `do_sample=False`).
    case greedy
    /// A draw from softmax(logits / temperature) restricted to the `topK` most likely tokens (0:
    /// all) and then to the smallest set whose probability reaches `topP` (1: all) — transformers'
    /// order of the temperature, top-k and top-p warpers.
    case sampling(temperature: Float, topK: Int, topP: Float)
}

/// Settings of a generation.
public struct GenerationOptions: Sendable, Equatable {
    /// New tokens per prompt at most (fewer when a prompt reaches the stop token or the model's
    /// last position).
    public var maxNewTokens: Int
    public var decoding: Decoding
    /// Sampling draws come from a stream per prompt keyed by (seed, prompt index): the same seed
    /// gives the same text whatever the batching.
    public var seed: UInt64
    /// A prompt's generation ends after this token (nil: the model's end-of-text, GPT-2's
    /// `eos_token_id`).
    public var stopToken: Int32?

    public init(maxNewTokens: Int = 32, decoding: Decoding = .greedy, seed: UInt64 = 0, stopToken: Int32? = nil) {
        (self.maxNewTokens, self.decoding, self.seed, self.stopToken) = (maxNewTokens, decoding, seed, stopToken)
    }

    func validate() throws {
        guard maxNewTokens >= 0 else { throw ModelError.invalidConfiguration("max new tokens must be ≥ 0 (got \(maxNewTokens))") }
        if case let .sampling(temperature, topK, topP) = decoding {
            guard temperature > 0, temperature.isFinite else { throw ModelError.invalidConfiguration("temperature must be positive (got \(temperature))") }
            guard topK >= 0 else { throw ModelError.invalidConfiguration("top-k must be ≥ 0 (0 = all tokens; got \(topK))") }
            guard topP > 0, topP <= 1 else { throw ModelError.invalidConfiguration("top-p must be in (0, 1] (got \(topP))") }
        }
    }
}

extension Encoder {
    /// The next T tokens of every sequence (`input.positionIDs` set by the caller) through the
    /// layers with the key/value cache: hidden states (B,T,H) after the final LayerNorm. The
    /// cache's next T slots are claimed here. Inference only.
    public func decode(_ input: EncoderInput, cache: KeyValueCache, tape: Tape) throws -> Variable {
        guard config.causal else { throw ModelError.invalidConfiguration("incremental decoding needs a causal model (GPT-2)") }
        var h = try embeddings(input, training: false, tape: tape)
        if let projection { h = projection(h, tape: tape) }
        let start = cache.append(input.length, mask: input.attentionMask)
        for (i, layer) in layers.enumerated() { h = layer(h, cache: cache, layer: i, start: start, tape: tape) }
        if let finalNorm { h = finalNorm(h, tape: tape) }
        return h
    }
}

extension PretrainingModel {
    /// Continues each prompt (token ids, at least one each) with up to `options.maxNewTokens`
    /// tokens and returns the new tokens only (the stop token included when it was produced),
    /// as transformers' `generate` does for one unpadded prompt at a time.
    ///
    /// The prompts run as one batch: the prompt pass fills a key/value cache (prompts padded on
    /// the right, padding masked out), then every step feeds one token per prompt, each at its own
    /// position, so each new token costs one position of every layer. `promptIndexOffset` is the
    /// index of `prompts[0]` among all prompts of a job (it keys the sampling streams);
    /// `observe(step, logits (B,V))` sees the logits each step chooses from.
    public func generate(_ prompts: [[Int32]], options: GenerationOptions, promptIndexOffset: Int = 0,
                         observe: ((Int, Tensor) -> Void)? = nil) throws -> [[Int32]] {
        try options.validate()
        guard let head = causalLM else {
            throw ModelError.invalidConfiguration("\(architecture) cannot generate text: it needs a causal LM head (a GPT-2 model folder)")
        }
        guard !prompts.isEmpty else { return [] }
        if let empty = prompts.firstIndex(where: \.isEmpty) {
            throw ModelError.inputShape("prompt \(promptIndexOffset + empty) has no tokens; give at least one")
        }
        let limit = config.maxPositions
        if let long = prompts.first(where: { $0.count > limit }) { throw ModelError.sequenceTooLong(length: long.count, maximum: limit) }
        let (b, t) = (prompts.count, prompts.map(\.count).max()!)
        let pad = Int32(config.padTokenId), stop = options.stopToken ?? pad
        let newTokens = min(options.maxNewTokens, limit - prompts.map(\.count).min()!)
        guard newTokens > 0 else { return prompts.map { _ in [] } }
        let cache = KeyValueCache(layers: encoder.layers.count, batch: b, capacity: t + newTokens, channels: config.hiddenSize)
        let tape = Tape(recording: false)

        var ids: [Int32] = [], mask: [Float] = [], positions: [Int32] = []
        for p in prompts {
            ids += p + [Int32](repeating: pad, count: t - p.count)
            mask += [Float](repeating: 1, count: p.count) + [Float](repeating: 0, count: t - p.count)
            positions += (0..<Int32(t)).map { $0 }
        }
        var hidden = try encoder.decode(EncoderInput(ids: ids, attentionMask: mask, positionIDs: positions, batch: b, length: t),
                                        cache: cache, tape: tape)
        var rows = prompts.enumerated().map { Int32($0.offset * t + $0.element.count - 1) }
        var random = (0..<b).map { RandomGenerator(seed: options.seed, stream: [0x4745_4E45, UInt64(promptIndexOffset + $0)]) }
        var generated = [[Int32]](repeating: [], count: b)
        var done = [Bool](repeating: false, count: b)
        for step in 0..<newTokens {
            let logits = try head(hidden, positions: rows, tape: tape).value
            observe?(step, logits)
            var next = [Int32](repeating: pad, count: b)
            for i in 0..<b where !done[i] {
                let token = Self.choose(logits.data + i * config.vocabSize, count: config.vocabSize, options.decoding, &random[i])
                next[i] = token
                generated[i].append(token)
                done[i] = token == stop || prompts[i].count + generated[i].count >= limit
            }
            if done.allSatisfy({ $0 }) || step == newTokens - 1 { break }
            let stepPositions = (0..<b).map { Int32(min(prompts[$0].count + generated[$0].count - 1, limit - 1)) }
            hidden = try encoder.decode(EncoderInput(ids: next, attentionMask: done.map { $0 ? 0 : 1 }, positionIDs: stepPositions,
                                                     batch: b, length: 1), cache: cache, tape: tape)
            rows = (0..<Int32(b)).map { $0 }
        }
        return generated
    }

    /// The next token from one row of logits.
    static func choose(_ logits: UnsafePointer<Float>, count v: Int, _ decoding: Decoding, _ random: inout RandomGenerator) -> Int32 {
        switch decoding {
        case .greedy:
            var best = 0
            for j in 1..<v where logits[j] > logits[best] { best = j }
            return Int32(best)
        case let .sampling(temperature, topK, topP):
            var order = Array(0..<v)
            order.sort { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
            var kept = topK > 0 ? min(topK, v) : v
            // Ties with the k-th logit stay (transformers keeps every logit ≥ the k-th).
            while kept < v && logits[order[kept]] == logits[order[kept - 1]] { kept += 1 }
            let top = Double(logits[order[0]])
            var weights = (0..<kept).map { exp((Double(logits[order[$0]]) - top) / Double(temperature)) }
            let total = weights.reduce(0, +)
            if topP < 1 {
                var cumulative = 0.0, cut = kept
                for (k, w) in weights.enumerated() {
                    cumulative += w / total
                    if cumulative >= Double(topP) { cut = k + 1; break }
                }
                weights.removeLast(kept - cut)
            }
            let u = random.uniformDouble() * weights.reduce(0, +)
            var acc = 0.0
            for (k, w) in weights.enumerated() {
                acc += w
                if u < acc { return Int32(order[k]) }
            }
            return Int32(order[weights.count - 1])
        }
    }
}

/// The negative log-likelihood of a token stream under a causal LM: Σ −log p(token | its window)
/// and the number of tokens scored; exp(sum / count) is the perplexity.
public struct LanguageModelScore: Sendable, Equatable {
    public var negativeLogLikelihood: Double
    public var tokens: Int
    public var perplexity: Double { exp(negativeLogLikelihood / Double(max(1, tokens))) }
}

extension PretrainingModel {
    /// Scores `tokens` in consecutive windows of `window` tokens (at most the model's positions),
    /// `batchSize` windows per pass: each token is predicted from the tokens before it in its
    /// window, the first of each window is not scored — transformers' perplexity recipe with the
    /// stride equal to the window.
    public func score(_ tokens: [Int32], window: Int? = nil, batchSize: Int = 8) throws -> LanguageModelScore {
        guard let head = causalLM else { throw ModelError.invalidConfiguration("\(architecture) has no causal LM head to score text with (a GPT-2 model folder)") }
        let w = min(window ?? config.maxPositions, config.maxPositions)
        guard w >= 2 else { throw ModelError.invalidConfiguration("a window needs at least 2 tokens (got \(w))") }
        var score = LanguageModelScore(negativeLogLikelihood: 0, tokens: 0)
        let starts = Array(stride(from: 0, to: tokens.count, by: w))
        for first in stride(from: 0, to: starts.count, by: max(1, batchSize)) {
            let chunk = starts[first..<min(starts.count, first + max(1, batchSize))]
            var ids: [Int32] = [], mask: [Float] = [], targets: [Int32] = []
            let length = chunk.map { min(w, tokens.count - $0) }.max()!
            for start in chunk {
                let n = min(w, tokens.count - start)
                ids += tokens[start..<(start + n)] + [Int32](repeating: Int32(config.padTokenId), count: length - n)
                mask += [Float](repeating: 1, count: n) + [Float](repeating: 0, count: length - n)
                targets += (0..<length).map { $0 + 1 < n ? tokens[start + $0 + 1] : LossKernels.ignoreIndex }
            }
            let count = targets.filter { $0 != LossKernels.ignoreIndex }.count
            guard count > 0 else { continue }
            let tape = Tape(recording: false)
            let hidden = try encoder(EncoderInput(ids: ids, attentionMask: mask, batch: chunk.count, length: length), training: false, tape: tape).hidden
            let (loss, _) = head.loss(hidden, targets: targets, normalizer: 1, tape: tape)
            score.negativeLogLikelihood += Double(loss.value.scalar)
            score.tokens += count
        }
        return score
    }
}
