import Foundation
import Tokenizers

/// How a delimited file separates fields.
public enum DelimitedFormat: String, Sendable, CaseIterable {
    /// GLUE-style tab-separated values: no quoting, one row per line.
    case tsv
    /// RFC 4180 comma-separated values: quoted fields may hold commas, doubled quotes and newlines.
    case csv
}

/// Which columns (by header name) of a TSV/CSV file, or fields of a JSONL file, hold the inputs.
public struct ColumnSelection: Sendable, Hashable {
    /// The text column (`--text-column`).
    public var text: String
    /// The second text of a pair task (`--pair-column`), or nil.
    public var pair: String?
    /// The label column (`--label-column`).
    public var label: String

    /// Creates a selection.
    public init(text: String, pair: String? = nil, label: String) { self.text = text; self.pair = pair; self.label = label }
}

/// Readers for the formats users already have. Each reads line by line where the format allows,
/// and reports a malformed row as `TaskDataError` naming the file and 1-based line.
public enum TaskLoaders {
    // MARK: Delimited files

    /// The records of a TSV/CSV file with the 1-based line each starts on.
    /// CSV follows RFC 4180: a quoted field may span lines, `""` inside quotes is one quote.
    public static func records(path: String, format: DelimitedFormat) throws -> [(line: Int, fields: [String])] {
        var reader = try LineReader(path: path)
        var out: [(line: Int, fields: [String])] = []
        while let first = try reader.next() {
            let startLine = reader.lineNumber
            switch format {
            case .tsv:
                if first.isEmpty { continue }
                out.append((startLine, first.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)))
            case .csv:
                if first.isEmpty { continue }
                var fields: [String] = []
                var field = ""
                var inQuotes = false
                var fieldWasQuoted = false
                var line = first
                scan: while true {
                    var it = line.unicodeScalars.makeIterator()
                    var pending = it.next()
                    while let c = pending {
                        pending = it.next()
                        if inQuotes {
                            if c == "\"" {
                                if pending == "\"" { field.unicodeScalars.append("\""); pending = it.next() } else { inQuotes = false }
                            } else {
                                field.unicodeScalars.append(c)
                            }
                        } else if c == "," {
                            fields.append(field); field = ""; fieldWasQuoted = false
                        } else if c == "\"" {
                            guard field.isEmpty, !fieldWasQuoted else {
                                throw TaskDataError.malformedRow(path: path, line: reader.lineNumber, problem: "a quote inside an unquoted field",
                                                                 fix: "quote the whole field and double the quotes inside it (RFC 4180)")
                            }
                            inQuotes = true; fieldWasQuoted = true
                        } else {
                            if fieldWasQuoted {
                                throw TaskDataError.malformedRow(path: path, line: reader.lineNumber, problem: "text after a closing quote",
                                                                 fix: "double the quotes inside a quoted field (\"\" for \")")
                            }
                            field.unicodeScalars.append(c)
                        }
                    }
                    if !inQuotes { break scan }
                    // A newline inside quotes belongs to the field.
                    guard let more = try reader.next() else {
                        throw TaskDataError.malformedRow(path: path, line: startLine, problem: "unterminated quoted field (the file ends inside quotes)",
                                                         fix: "close the quote that opens on this line")
                    }
                    field.unicodeScalars.append("\n")
                    line = more
                }
                fields.append(field)
                out.append((startLine, fields))
            }
        }
        return out
    }

    /// Text-classification (or regression) examples from a TSV/CSV file.
    /// - Parameters:
    ///   - hasHeader: the first record names the columns; without one, columns are named "0", "1", ….
    ///   - regression: labels are real numbers.
    ///   - allowedLabels: when given, any other label is an error (catches typos and shifted columns).
    public static func classification(path: String, format: DelimitedFormat, columns: ColumnSelection, hasHeader: Bool = true,
                                      regression: Bool = false, allowedLabels: [String]? = nil) throws -> [TextClassificationExample] {
        let rows = try records(path: path, format: format)
        guard let first = rows.first else { return [] }
        let names = hasHeader ? first.fields : (0..<first.fields.count).map(String.init)
        func index(_ c: String) throws -> Int {
            guard let i = names.firstIndex(of: c) else {
                throw TaskDataError.missingColumn(path: path, line: first.line, column: c, available: names)
            }
            return i
        }
        let ti = try index(columns.text), li = try index(columns.label)
        let pi = try columns.pair.map(index)
        var out: [TextClassificationExample] = []
        for row in rows.dropFirst(hasHeader ? 1 : 0) {
            guard row.fields.count == names.count else {
                throw TaskDataError.malformedRow(path: path, line: row.line, problem: "\(row.fields.count) columns, expected \(names.count)",
                                                 fix: format == .tsv ? "remove stray tabs inside the text" : "quote fields that contain commas")
            }
            let label = try parseLabel(row.fields[li], path: path, line: row.line, regression: regression, allowed: allowedLabels)
            out.append(TextClassificationExample(text: row.fields[ti], pair: pi.map { row.fields[$0] }, label: label))
        }
        return out
    }

    static func parseLabel(_ raw: String, path: String, line: Int, regression: Bool, allowed: [String]?) throws -> ExampleLabel {
        let s = raw.trimmingCharacters(in: .whitespaces)
        if regression {
            guard let v = Double(s), v.isFinite else {
                throw TaskDataError.malformedRow(path: path, line: line, problem: "label \"\(raw)\" is not a number",
                                                 fix: "regression labels must be real numbers (or drop --regression)")
            }
            return .value(v)
        }
        guard !s.isEmpty else {
            throw TaskDataError.malformedRow(path: path, line: line, problem: "empty label", fix: "give every row a label")
        }
        if let allowed, !allowed.contains(s) {
            throw TaskDataError.malformedRow(path: path, line: line, problem: "label \"\(s)\" is not one of \(allowed.joined(separator: ", "))",
                                             fix: "fix the label or the label list")
        }
        return .category(s)
    }

    // MARK: JSONL

    /// Text-classification examples from JSON Lines (one object per line; fields by name).
    /// Numeric labels become their decimal text ("1", "0.5"); booleans "true"/"false".
    public static func classificationJSONL(path: String, fields: ColumnSelection, regression: Bool = false,
                                           allowedLabels: [String]? = nil) throws -> [TextClassificationExample] {
        var reader = try LineReader(path: path)
        var out: [TextClassificationExample] = []
        while let line = try reader.next() {
            let n = reader.lineNumber
            if line.allSatisfy(\.isWhitespace) { continue }
            let obj = try parseJSON(line, path: path, line: n)
            guard case .object(let pairs) = obj else {
                throw TaskDataError.malformedRow(path: path, line: n, problem: "not a JSON object", fix: "write one {…} object per line")
            }
            func field(_ name: String) throws -> JSONValue {
                guard let v = obj[name] else {
                    throw TaskDataError.missingColumn(path: path, line: n, column: name, available: pairs.map(\.0))
                }
                return v
            }
            guard case .string(let text) = try field(fields.text) else {
                throw TaskDataError.malformedRow(path: path, line: n, problem: "field \"\(fields.text)\" is not a string", fix: "quote the text")
            }
            var pair: String?
            if let p = fields.pair {
                guard case .string(let s) = try field(p) else {
                    throw TaskDataError.malformedRow(path: path, line: n, problem: "field \"\(p)\" is not a string", fix: "quote the text")
                }
                pair = s
            }
            let raw: String
            switch try field(fields.label) {
            case .string(let s): raw = s
            case .number(let d): raw = numberText(d)
            case .bool(let b): raw = b ? "true" : "false"
            default:
                throw TaskDataError.malformedRow(path: path, line: n, problem: "field \"\(fields.label)\" is not a string, number or boolean",
                                                 fix: "give a label")
            }
            out.append(TextClassificationExample(text: text, pair: pair,
                                                 label: try parseLabel(raw, path: path, line: n, regression: regression, allowed: allowedLabels)))
        }
        return out
    }

    static func parseJSON(_ text: String, path: String, line: Int) throws -> JSONValue {
        do { return try JSONValue.parse(text) } catch {
            throw TaskDataError.malformedRow(path: path, line: line, problem: "bad JSON (\(error))", fix: "fix the JSON on this line")
        }
    }

    static func parseJSONDocument(_ bytes: [UInt8], path: String) throws -> JSONValue {
        do { return try JSONValue.parse(bytes) } catch let TokenizerError.malformedJSON(offset, reason) {
            throw TaskDataError.malformedRow(path: path, line: lineNumber(ofByte: offset, in: bytes), problem: "bad JSON: \(reason)",
                                             fix: "fix the JSON here (a missing comma, quote or bracket is usual)")
        } catch {
            throw TaskDataError.malformedRow(path: path, line: 1, problem: "bad JSON (\(error))", fix: "fix the JSON")
        }
    }

    // MARK: SQuAD

    /// Examples from a SQuAD v1.1 / v2.0 JSON file (`data[].paragraphs[].qas[]`). Each answer must
    /// lie in the context: `answer_start` (in Unicode scalars) in range and the text equal to the
    /// context there. Errors point at the line of the question's `id`.
    public static func squad(path: String) throws -> [QuestionAnsweringExample] {
        let bytes = try readUTF8File(path)
        let doc = try parseJSONDocument(bytes, path: path)
        func bad(_ line: Int, _ problem: String, _ fix: String) -> TaskDataError {
            .malformedRow(path: path, line: line, problem: problem, fix: fix)
        }
        guard case .array(let articles)? = doc["data"] else {
            throw bad(1, "no \"data\" array at the top", "a SQuAD file is {\"version\": …, \"data\": [{\"paragraphs\": […]}]}")
        }
        var out: [QuestionAnsweringExample] = []
        for article in articles {
            guard case .array(let paragraphs)? = article["paragraphs"] else {
                throw bad(1, "an article without a \"paragraphs\" array", "give each data[] entry paragraphs")
            }
            for paragraph in paragraphs {
                guard case .string(let context)? = paragraph["context"], case .array(let qas)? = paragraph["qas"] else {
                    throw bad(1, "a paragraph without \"context\" string and \"qas\" array", "give each paragraph context and qas")
                }
                let scalars = Array(context.unicodeScalars)
                for qa in qas {
                    let id: String
                    switch qa["id"] {
                    case .string(let s)?: id = s
                    case .number(let d)?: id = numberText(d)
                    default: throw bad(1, "a question without an \"id\"", "give each question a unique id")
                    }
                    let line = lineNumber(of: "\"\(id)\"", in: bytes)
                    guard case .string(let question)? = qa["question"] else { throw bad(line, "question \(id) has no \"question\" text", "add it") }
                    var impossible = false
                    if case .bool(let b)? = qa["is_impossible"] { impossible = b }
                    var answers: [QuestionAnswer] = []
                    if case .array(let list)? = qa["answers"] {
                        for a in list {
                            guard case .string(let text)? = a["text"], case .number(let s)? = a["answer_start"], s == s.rounded() else {
                                throw bad(line, "question \(id): an answer needs \"text\" and an integer \"answer_start\"", "fix the answer")
                            }
                            let start = Int(s)
                            let n = text.unicodeScalars.count
                            guard start >= 0, start + n <= scalars.count else {
                                throw bad(line, "question \(id): answer_start \(start) + \(n) characters is outside the context (\(scalars.count) characters)",
                                          "answer_start counts Unicode characters from 0")
                            }
                            guard scalars[start..<(start + n)].elementsEqual(text.unicodeScalars) else {
                                let found = String(String.UnicodeScalarView(scalars[start..<(start + n)]))
                                throw bad(line, "question \(id): answer \"\(text)\" does not match the context at \(start) (\"\(found)\")",
                                          "fix answer_start or the answer text")
                            }
                            answers.append(QuestionAnswer(text: text, characterStart: start))
                        }
                    }
                    if !impossible && answers.isEmpty {
                        throw bad(line, "question \(id) has no answers and is not marked is_impossible", "add an answer or \"is_impossible\": true")
                    }
                    out.append(QuestionAnsweringExample(id: id, question: question, context: context, answers: impossible ? [] : answers,
                                                        isImpossible: impossible))
                }
            }
        }
        return out
    }

    // MARK: RACE

    /// Examples from RACE JSON: one object per file (as RACE ships), a JSON array of them, or
    /// JSON Lines. Each object has `article`, `questions[]`, `options[][]`, `answers[]` (letters
    /// A, B, C, … indexing the options) and optionally `id`. One example per question.
    public static func race(path: String) throws -> [MultipleChoiceExample] {
        let bytes = try readUTF8File(path)
        var objects: [(JSONValue, Int)] = []
        do {
            let doc = try JSONValue.parse(bytes)
            if case .array(let items) = doc { objects = items.map { ($0, 1) } } else { objects = [(doc, 1)] }
        } catch let TokenizerError.malformedJSON(offset, reason) where reason == "trailing characters" && offset > 0 {
            // Several documents: JSON Lines.
            var reader = try LineReader(path: path)
            while let line = try reader.next() {
                if line.allSatisfy(\.isWhitespace) { continue }
                objects.append((try parseJSON(line, path: path, line: reader.lineNumber), reader.lineNumber))
            }
        } catch {
            objects = [(try parseJSONDocument(bytes, path: path), 1)]
        }
        var out: [MultipleChoiceExample] = []
        var optionCount: Int?
        for (k, (obj, objLine)) in objects.enumerated() {
            func bad(_ problem: String, _ fix: String, near: String? = nil) -> TaskDataError {
                let line = objLine > 1 ? objLine : (near.map { lineNumber(of: $0, in: bytes) } ?? 1)
                return .malformedRow(path: path, line: line, problem: problem, fix: fix)
            }
            guard case .string(let article)? = obj["article"], case .array(let qs)? = obj["questions"],
                  case .array(let opts)? = obj["options"], case .array(let ans)? = obj["answers"] else {
                throw bad("a RACE record needs \"article\", \"questions\", \"options\" and \"answers\"", "add the missing fields")
            }
            var id = "\(k)"
            if case .string(let s)? = obj["id"] { id = s }
            guard qs.count == opts.count, qs.count == ans.count else {
                throw bad("\(qs.count) questions, \(opts.count) option lists and \(ans.count) answers", "give one option list and one answer per question",
                          near: "\"answers\"")
            }
            for q in 0..<qs.count {
                guard case .string(let question) = qs[q], case .array(let o) = opts[q], case .string(let letter) = ans[q] else {
                    throw bad("question \(q + 1) is not text / options not a list / answer not a letter", "fix record \(id)", near: "\"questions\"")
                }
                let options = try o.map { v -> String in
                    guard case .string(let s) = v else { throw bad("question \(q + 1): an option is not text", "quote the options", near: "\"options\"") }
                    return s
                }
                // A batch scores every example's options as one (B, C) block: one count per file.
                if let expected = optionCount, options.count != expected {
                    throw bad("question \(q + 1) has \(options.count) options, the first question of the file \(expected)",
                              "give every question the same number of options", near: "\"options\"")
                }
                optionCount = options.count
                let letters = letter.unicodeScalars
                guard letters.count == 1, let a = letters.first, a.value >= 65, Int(a.value - 65) < options.count else {
                    let last = options.isEmpty ? "A" : String(UnicodeScalar(UInt8(64 + min(options.count, 26))))
                    throw bad("question \(q + 1): answer \"\(letter)\" is not a letter A–\(last) for \(options.count) options",
                              "answers are option letters", near: "\"\(letter)\"")
                }
                out.append(MultipleChoiceExample(id: "\(id)-\(q)", context: article, question: question, options: options, label: Int(a.value - 65)))
            }
        }
        return out
    }

    // MARK: Tagging

    /// Sentences from a CoNLL column file: whitespace-separated columns, the token in column
    /// `tokenColumn` (0) and the tag in `tagColumn` (nil: the last), a blank line between
    /// sentences, `-DOCSTART-` lines skipped. Every row must have as many columns as the first.
    public static func conll(path: String, tokenColumn: Int = 0, tagColumn: Int? = nil) throws -> [TokenTaggingExample] {
        var reader = try LineReader(path: path)
        var out: [TokenTaggingExample] = []
        var words: [String] = [], tags: [String] = []
        var columns: Int?
        func flush() { if !words.isEmpty { out.append(TokenTaggingExample(words: words, tags: tags)); words = []; tags = [] } }
        while let line = try reader.next() {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            if parts.isEmpty { flush(); continue }
            if parts[0] == "-DOCSTART-" { flush(); continue }
            let n = reader.lineNumber
            guard parts.count >= 2 else {
                throw TaskDataError.malformedRow(path: path, line: n, problem: "one column (\"\(line)\"); a token and a tag are needed",
                                                 fix: "separate the token and its tag with a space or tab")
            }
            if let c = columns, c != parts.count {
                throw TaskDataError.malformedRow(path: path, line: n, problem: "\(parts.count) columns, expected \(c) like the first row",
                                                 fix: "tokens must not contain spaces; keep the same columns on every row")
            }
            columns = parts.count
            let tc = tagColumn ?? parts.count - 1
            guard tokenColumn < parts.count, tc < parts.count, tc >= 0, tokenColumn >= 0 else {
                throw TaskDataError.malformedRow(path: path, line: n, problem: "no column \(max(tokenColumn, tc)) (\(parts.count) columns)",
                                                 fix: "choose existing token/tag columns")
            }
            words.append(parts[tokenColumn]); tags.append(parts[tc])
        }
        flush()
        return out
    }

    /// Sentences from `word/TAG` lines (one sentence per line, tokens separated by spaces; the
    /// tag follows the LAST slash, so `1/2/CD` is the word `1/2` tagged CD). Blank lines are skipped.
    public static func wordTag(path: String) throws -> [TokenTaggingExample] {
        var reader = try LineReader(path: path)
        var out: [TokenTaggingExample] = []
        while let line = try reader.next() {
            let tokens = line.split(separator: " ", omittingEmptySubsequences: true)
            if tokens.isEmpty { continue }
            var words: [String] = [], tags: [String] = []
            for t in tokens {
                guard let slash = t.lastIndex(of: "/"), slash != t.startIndex, t.index(after: slash) != t.endIndex else {
                    throw TaskDataError.malformedRow(path: path, line: reader.lineNumber, problem: "token \"\(t)\" is not word/TAG",
                                                     fix: "write each token as word/TAG")
                }
                words.append(String(t[..<slash])); tags.append(String(t[t.index(after: slash)...]))
            }
            out.append(TokenTaggingExample(words: words, tags: tags))
        }
        return out
    }
}

/// A JSON number as text: integers without a fraction ("3", not "3.0"), anything else — 1.5,
/// 1e300 — as Swift prints it (converting a huge one to Int would trap).
func numberText(_ d: Double) -> String {
    d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
}
