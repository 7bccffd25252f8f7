import Foundation

/// Errors reading raw text corpora. Every message says what went wrong and what to do.
public enum CorpusError: Error, CustomStringConvertible, Equatable {
    /// A corpus file or folder does not exist.
    case missingFile(path: String)
    /// A corpus file exists but cannot be opened or read.
    case unreadable(path: String, reason: String)
    /// A folder corpus holds no `.txt` file.
    case emptyFolder(path: String)
    /// The corpus yielded no document with text.
    case emptyCorpus(description: String)
    /// A JSONL line is not a JSON object with a string field `field`.
    case badJSONLine(path: String, line: Int, field: String, reason: String)
    /// A line of a parallel corpus is not `reference<TAB>text<TAB>text`.
    case badParallelLine(path: String, line: Int, reason: String)
    /// A built-in corpus needs an OS package (or a fetched file) that is not there.
    case builtInUnavailable(name: String, remedy: String)
    /// A built-in corpus name that does not exist.
    case unknownBuiltIn(name: String)
    /// An external program feeding a built-in corpus failed.
    case commandFailed(command: String, status: Int32)

    /// The message: what went wrong and what to do.
    public var description: String {
        switch self {
        case let .missingFile(path):
            return "corpus file '\(path)' does not exist. Check the path (relative paths are from the current folder)."
        case let .unreadable(path, reason):
            return "cannot read corpus file '\(path)': \(reason). Check its permissions."
        case let .emptyFolder(path):
            return "corpus folder '\(path)' holds no .txt file. Put the text in .txt files or use --format text with the files."
        case let .emptyCorpus(description):
            return "the corpus \(description) has no text (no non-blank line). Give files with text, one sentence per line."
        case let .badJSONLine(path, line, field, reason):
            return "'\(path)' line \(line): \(reason). Each line must be a JSON object with a string field \"\(field)\" (set the field with --text-field)."
        case let .badParallelLine(path, line, reason):
            return "'\(path)' line \(line): \(reason). A parallel corpus has one `Book C:V<TAB>first text<TAB>second text` line per verse, as `pretrain corpus parallel web rv1909 --output FILE` writes it."
        case let .builtInUnavailable(name, remedy):
            return "built-in corpus '\(name)' is not installed: \(remedy)"
        case let .unknownBuiltIn(name):
            return "no built-in corpus '\(name)'. Use one of: \(BuiltInCorpus.allCases.map(\.rawValue).joined(separator: ", ")) (`pretrain corpus build --list`)."
        case let .commandFailed(command, status):
            return "`\(command)` exited with status \(status). Run it by hand to see why; reinstall with `bash scripts/setup.sh`."
        }
    }
}
