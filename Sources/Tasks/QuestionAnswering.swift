import Tokenizers

/// One tokenized window of a QA example: question + a slice of the context, with training labels.
public struct QuestionAnsweringWindow: Sendable, Equatable {
    /// Index of the example in the array given to `QuestionAnswering.windows`.
    public var exampleIndex: Int
    /// The example's id.
    public var exampleID: String
    /// `[CLS] question [SEP] context slice [SEP]` (ids, type ids, attention mask, offsets).
    public var encoding: Encoding
    /// For each token, its (start, end) in the context in Unicode scalars; nil for question and
    /// special tokens (so predictions can only land in the context).
    public var contextOffsets: [Encoding.Offset?]
    /// Token index of the answer's first token, or `nullIndex` when the answer is not wholly in
    /// this window (or the question is impossible).
    public var startPosition: Int
    /// Token index of the answer's last token, or `nullIndex`.
    public var endPosition: Int
    /// The CLS token's index: the "no answer" target.
    public var nullIndex: Int
}

/// Start/end logits a model produced for one window, with the window's context offsets.
public struct WindowLogits: Sendable {
    /// One start score per token.
    public var startLogits: [Float]
    /// One end score per token.
    public var endLogits: [Float]
    /// `QuestionAnsweringWindow.contextOffsets` of the same window.
    public var contextOffsets: [Encoding.Offset?]
    /// The CLS index (null answer scores are read there).
    public var nullIndex: Int

    /// Creates window logits.
    public init(startLogits: [Float], endLogits: [Float], contextOffsets: [Encoding.Offset?], nullIndex: Int = 0) {
        self.startLogits = startLogits; self.endLogits = endLogits; self.contextOffsets = contextOffsets; self.nullIndex = nullIndex
    }
}

/// A candidate answer span.
public struct AnswerCandidate: Sendable, Equatable {
    /// The answer text (empty for the null answer).
    public var text: String
    /// Start in the context, Unicode scalars.
    public var characterStart: Int
    /// One past the end in the context, Unicode scalars.
    public var characterEnd: Int
    /// Start logit + end logit.
    public var score: Float
    /// Which window it came from.
    public var window: Int
}

/// Settings of QA post-processing (Hugging Face `run_qa.py` names in brackets).
public struct AnswerSearchOptions: Sendable, Equatable {
    /// Start and end positions tried per window, and candidates kept (`n_best_size`, 20).
    public var nBest: Int
    /// Longest answer in tokens (`max_answer_length`, 30).
    public var maxAnswerLength: Int
    /// SQuAD v2: allow the null answer (`version_2_with_negative`).
    public var allowNoAnswer: Bool
    /// Predict no answer when null score − best score exceeds this (`null_score_diff_threshold`, 0).
    public var nullScoreThreshold: Float

    /// Creates options with run_qa.py's defaults.
    public init(nBest: Int = 20, maxAnswerLength: Int = 30, allowNoAnswer: Bool = false, nullScoreThreshold: Float = 0) {
        self.nBest = nBest; self.maxAnswerLength = maxAnswerLength; self.allowNoAnswer = allowNoAnswer; self.nullScoreThreshold = nullScoreThreshold
    }
}

/// Extractive QA data preparation and post-processing, as Hugging Face's `run_qa.py` does them
/// (`prepare_train_features`, `postprocess_qa_predictions`); pure functions, testable without a model.
public enum QuestionAnswering {
    /// Tokenizes each example as question + context with `only_second` truncation, one window per
    /// overflow (consecutive windows share `stride` context tokens), and labels each window with
    /// the token positions of the first gold answer, or the CLS index when the answer is not
    /// wholly inside (or there is none).
    /// - Parameters:
    ///   - maxLength: tokens per window, special tokens included (`max_seq_length`, 384).
    ///   - stride: context tokens shared by consecutive windows (`doc_stride`, 128).
    public static func windows(for examples: [QuestionAnsweringExample], tokenizer: Tokenizer, maxLength: Int = 384,
                               stride: Int = 128) throws -> [QuestionAnsweringWindow] {
        var out: [QuestionAnsweringWindow] = []
        for (index, example) in examples.enumerated() {
            // Leading spaces in questions waste window space (run_qa.py strips them too).
            let question = String(example.question.drop(while: { $0.isWhitespace }))
            let first: Encoding
            do {
                first = try tokenizer.encode(question, pair: example.context,
                                             truncation: .some(TruncationParams(maxLength: maxLength, stride: stride, strategy: .onlySecond)),
                                             padding: .some(nil))
            } catch {
                throw TaskDataError.invalidArgument("QA example \(example.id): \(error) (the question is too long for max length \(maxLength) with stride \(stride); raise the max length or lower the stride)")
            }
            var all = first
            all.overflowing = []
            for e in [all] + first.overflowing {
                out.append(label(e, example: example, index: index))
            }
        }
        return out
    }

    static func label(_ e: Encoding, example: QuestionAnsweringExample, index: Int) -> QuestionAnsweringWindow {
        let contextOffsets: [Encoding.Offset?] = (0..<e.count).map { e.sequenceIDs[$0] == 1 ? e.offsets[$0] : nil }
        let cls = e.specialTokensMask.firstIndex(of: 1) ?? 0
        var start = cls, end = cls
        let context = contextOffsets.indices.filter { contextOffsets[$0] != nil }
        if let answer = example.answers.first, !example.isImpossible, let lo = context.first, let hi = context.last,
           let loOffset = contextOffsets[lo], let hiOffset = contextOffsets[hi],
           loOffset.start <= answer.characterStart, hiOffset.end >= answer.characterEnd {
            // The last context token starting at or before the answer, and the first ending at or after it.
            var s = lo
            while s + 1 <= hi, let o = contextOffsets[s + 1], o.start <= answer.characterStart { s += 1 }
            var t = hi
            while t - 1 >= lo, let o = contextOffsets[t - 1], o.end >= answer.characterEnd { t -= 1 }
            start = s; end = max(s, t)
        }
        return QuestionAnsweringWindow(exampleIndex: index, exampleID: example.id, encoding: e, contextOffsets: contextOffsets,
                                       startPosition: start, endPosition: end, nullIndex: cls)
    }

    /// Indices of the `k` largest values, largest first (ties: lower index first).
    static func topIndices(_ v: [Float], _ k: Int) -> [Int] {
        Array(v.indices.sorted { v[$0] > v[$1] || (v[$0] == v[$1] && $0 < $1) }.prefix(k))
    }

    /// The n best answers for one example across its windows, best first: top-`nBest` starts ×
    /// top-`nBest` ends per window, both in the context, end ≥ start, at most `maxAnswerLength`
    /// tokens; text cut from `context` by the offsets. With `allowNoAnswer`, the null answer
    /// (text "", score = the smallest CLS start+end over the windows) competes too.
    public static func candidates(context: String, windows: [WindowLogits], options: AnswerSearchOptions = .init()) -> [AnswerCandidate] {
        let scalars = Array(context.unicodeScalars)
        var found: [AnswerCandidate] = []
        var nullScore: Float?
        for (w, win) in windows.enumerated() {
            let n = min(win.startLogits.count, win.endLogits.count, win.contextOffsets.count)
            guard n > 0 else { continue }
            if win.nullIndex < n {
                let s = win.startLogits[win.nullIndex] + win.endLogits[win.nullIndex]
                nullScore = min(nullScore ?? s, s)
            }
            let starts = topIndices(Array(win.startLogits.prefix(n)), options.nBest)
            let ends = topIndices(Array(win.endLogits.prefix(n)), options.nBest)
            for s in starts {
                for e in ends {
                    guard e >= s, e - s + 1 <= options.maxAnswerLength, let a = win.contextOffsets[s], let b = win.contextOffsets[e] else { continue }
                    let lo = max(0, min(a.start, scalars.count)), hi = max(lo, min(b.end, scalars.count))
                    found.append(AnswerCandidate(text: String(String.UnicodeScalarView(scalars[lo..<hi])), characterStart: lo, characterEnd: hi,
                                                 score: win.startLogits[s] + win.endLogits[e], window: w))
                }
            }
        }
        if options.allowNoAnswer, let ns = nullScore {
            found.append(AnswerCandidate(text: "", characterStart: 0, characterEnd: 0, score: ns, window: -1))
        }
        // Stable order: score, then earlier start, then shorter.
        found.sort { ($0.score, -$0.characterStart, -$0.characterEnd) > ($1.score, -$1.characterStart, -$1.characterEnd) }
        return Array(found.prefix(options.nBest))
    }

    /// The predicted answer text for one example: the best non-null candidate, or "" when there is
    /// none or (with `allowNoAnswer`) when null score − best score > `nullScoreThreshold`.
    public static func bestAnswer(context: String, windows: [WindowLogits], options: AnswerSearchOptions = .init()) -> String {
        var wide = options
        wide.allowNoAnswer = false
        let best = candidates(context: context, windows: windows, options: wide).first
        guard options.allowNoAnswer else { return best?.text ?? "" }
        var nullScore: Float?
        for win in windows where win.nullIndex < min(win.startLogits.count, win.endLogits.count) {
            let s = win.startLogits[win.nullIndex] + win.endLogits[win.nullIndex]
            nullScore = min(nullScore ?? s, s)
        }
        guard let b = best else { return "" }
        if let ns = nullScore, ns - b.score > options.nullScoreThreshold { return "" }
        return b.text
    }

    /// Predictions for many examples from their windows' logits (`logits[i]` belongs to
    /// `windows[i]`), keyed by example id: the input to `Metrics.squad`.
    public static func predictions(examples: [QuestionAnsweringExample], windows: [QuestionAnsweringWindow],
                                   logits: [(start: [Float], end: [Float])], options: AnswerSearchOptions = .init()) -> [String: String] {
        var byExample: [Int: [WindowLogits]] = [:]
        for (w, l) in zip(windows, logits) {
            byExample[w.exampleIndex, default: []].append(WindowLogits(startLogits: l.start, endLogits: l.end, contextOffsets: w.contextOffsets,
                                                                       nullIndex: w.nullIndex))
        }
        var out: [String: String] = [:]
        for (i, e) in examples.enumerated() {
            out[e.id] = bestAnswer(context: e.context, windows: byExample[i] ?? [], options: options)
        }
        return out
    }
}
