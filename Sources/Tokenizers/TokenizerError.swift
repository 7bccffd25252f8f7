/// Errors thrown by the tokenizers module. Every message says what went wrong and what to do.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// The JSON text could not be parsed (byte offset and reason).
    case malformedJSON(offset: Int, reason: String)
    /// A field of tokenizer.json is missing or has the wrong JSON type.
    case invalidField(path: String, reason: String)
    /// A component `type` that this library does not implement.
    case unknownComponent(path: String, type: String)
    /// A file could not be read.
    case unreadableFile(path: String, reason: String)
    /// A file is not valid UTF-8 (first bad byte offset).
    case invalidUTF8(path: String, offset: Int)
    /// A token needed by the pipeline is not in the vocabulary.
    case missingToken(String)
    /// Truncation cannot satisfy the request.
    case truncation(String)
    /// A training request cannot be satisfied.
    case training(String)
    /// An id outside the vocabulary was passed to decode.
    case unknownID(Int)
    /// A regular expression ran past its time budget on one text (runaway backtracking).
    case regexTooSlow(pattern: String, length: Int, seconds: Double)
    /// Normalization grew a text past its limit.
    case normalizedTooLong(input: Int, length: Int, limit: Int)

    /// The message: what went wrong and what to do.
    public var description: String {
        switch self {
        case let .malformedJSON(offset, reason):
            return "malformed JSON at byte \(offset): \(reason). Check that the file is a complete tokenizer.json."
        case let .invalidField(path, reason):
            return "tokenizer.json field '\(path)': \(reason). Fix or regenerate the file."
        case let .unknownComponent(path, type):
            return "tokenizer.json field '\(path)': unknown type '\(type)'. Supported types are listed in docs/TOKENIZERS.md; use one of them or convert the tokenizer."
        case let .unreadableFile(path, reason):
            return "cannot read '\(path)': \(reason). Check the path and permissions."
        case let .invalidUTF8(path, offset):
            return "'\(path)' is not valid UTF-8 (first bad byte at offset \(offset)). Re-encode the file as UTF-8."
        case let .missingToken(token):
            return "token '\(token)' is not in the vocabulary. Add it (e.g. as a special token) or change the configuration."
        case let .truncation(reason):
            return "truncation: \(reason). Use a larger max length, a smaller stride or another strategy."
        case let .training(reason):
            return "training: \(reason)."
        case let .unknownID(id):
            return "id \(id) is not in the vocabulary. Pass ids produced by this tokenizer."
        case let .regexTooSlow(pattern, length, seconds):
            let shown = pattern.count > 80 ? String(pattern.prefix(80)) + "…" : pattern
            return "the regular expression '\(shown)' in tokenizer.json was stopped after \(String(format: "%.1f", seconds)) s on a text of \(length) characters: it backtracks without end on such input (nested quantifiers such as (a+)+ do). Simplify the pattern, or split very long texts first."
        case let .normalizedTooLong(input, length, limit):
            return "the normalizer in tokenizer.json makes \(length) characters of a text of \(input) (the limit is \(limit), 64× plus 4096): its Replace or Prepend rules grow the text without bound. Fix the normalizer's rules."
        }
    }
}
