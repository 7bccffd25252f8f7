import Tokenizers

/// Word-level tags ↔ token-level labels: the label sits on the first piece of each word, the
/// other pieces are ignored by the loss (−100, PyTorch's `ignore_index`), as in Hugging Face's
/// `run_ner.py` with `label_all_tokens=False`.
public enum TokenClassification {
    /// The label of pieces that the loss skips.
    public static let ignoredLabel = -100

    /// Encodes pre-split words (joined with single spaces) and returns, per token, the index of
    /// the word it belongs to (nil for special tokens). Word indices come from the offsets rather
    /// than the tokenizer's own word ids, because the pre-tokenizer also splits inside words
    /// ("U.S." → "U", ".", "S", ".") and those must still count as one word.
    public static func encode(words: [String], tokenizer: Tokenizer, maxLength: Int? = nil) throws -> (encoding: Encoding, wordIndices: [Int?]) {
        var starts: [Int] = []
        var text = ""
        var position = 0
        for (i, w) in words.enumerated() {
            if i > 0 { text += " "; position += 1 }
            starts.append(position)
            text += w
            position += w.unicodeScalars.count
        }
        let truncation: TruncationParams?? = maxLength.map { .some(TruncationParams(maxLength: $0)) } ?? .some(nil)
        let e = try tokenizer.encode(text, truncation: truncation, padding: .some(nil))
        var indices: [Int?] = []
        for t in 0..<e.count {
            guard e.sequenceIDs[t] != nil, e.specialTokensMask[t] == 0 else { indices.append(nil); continue }
            // The last word starting at or before the token's start.
            var lo = 0, hi = starts.count - 1, found: Int?
            while lo <= hi {
                let mid = (lo + hi) / 2
                if starts[mid] <= e.offsets[t].start { found = mid; lo = mid + 1 } else { hi = mid - 1 }
            }
            indices.append(found)
        }
        return (e, indices)
    }

    /// Token labels from word labels: the first token of each word gets its word's label, the
    /// rest `ignoredLabel` (or the same label with `labelAllPieces`), specials `ignoredLabel`.
    public static func alignLabels(wordIndices: [Int?], wordLabels: [Int], labelAllPieces: Bool = false) -> [Int] {
        var previous: Int?
        return wordIndices.map { w in
            defer { previous = w }
            guard let w, w < wordLabels.count else { return ignoredLabel }
            return w != previous || labelAllPieces ? wordLabels[w] : ignoredLabel
        }
    }

    /// Word predictions from token predictions: each word takes its first token's prediction;
    /// words cut off by truncation get `fallback`.
    public static func wordPredictions<T>(wordIndices: [Int?], tokenPredictions: [T], wordCount: Int, fallback: T) -> [T] {
        var out = [T](repeating: fallback, count: wordCount)
        var seen = Set<Int>()
        for (t, w) in wordIndices.enumerated() {
            guard let w, w < wordCount, t < tokenPredictions.count, !seen.contains(w) else { continue }
            seen.insert(w)
            out[w] = tokenPredictions[t]
        }
        return out
    }

    /// Makes predicted BIO tags well formed the way seqeval reads them: an I-X that does not
    /// continue a B-X/I-X chunk becomes B-X, so decoding and scoring agree on the chunks.
    public static func repairBIO(_ tags: [String]) -> [String] {
        var out: [String] = []
        var previousType: String?
        for tag in tags {
            if tag.hasPrefix("I-") {
                let type = String(tag.dropFirst(2))
                out.append(previousType == type ? tag : "B-" + type)
                previousType = type
            } else if tag.hasPrefix("B-") {
                out.append(tag); previousType = String(tag.dropFirst(2))
            } else {
                out.append(tag); previousType = nil
            }
        }
        return out
    }
}
