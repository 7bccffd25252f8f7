import Foundation

/// A verse's place: the book as the SWORD modules name it (English in every translation:
/// `Genesis`, `Revelation of John`), chapter and verse.
public struct VerseReference: Hashable, Sendable, CustomStringConvertible {
    public let book: String
    public let chapter: Int
    public let verse: Int
    public init(book: String, chapter: Int, verse: Int) { (self.book, self.chapter, self.verse) = (book, chapter, verse) }
    public var description: String { "\(book) \(chapter):\(verse)" }

    /// Parses ``description``'s form, `Book C:V` (the book may hold spaces: `1 Kings 2:3`).
    public init?(parsing text: String) {
        guard let space = text.lastIndex(of: " ") else { return nil }
        let numbers = text[text.index(after: space)...].split(separator: ":")
        guard numbers.count == 2, let c = Int(numbers[0]), let v = Int(numbers[1]), c > 0, v > 0 else { return nil }
        let book = String(text[..<space]).trimmingCharacters(in: .whitespaces)
        guard !book.isEmpty else { return nil }
        self.init(book: book, chapter: c, verse: v)
    }
}

/// A verse of one translation.
public struct ReferencedVerse: Sendable, Equatable {
    public let reference: VerseReference
    public let text: String
    public init(reference: VerseReference, text: String) { (self.reference, self.text) = (reference, text) }
}

/// Two translations aligned verse by verse — the parallel data of translation LM (XLM's TLM):
/// a verse is kept when both translations have it (the WEB's deuterocanon and verses a
/// translation leaves empty drop out), in the first translation's order.
public struct ParallelVerses: Sendable {
    /// (reference, first translation's text, second's).
    public let pairs: [(reference: VerseReference, first: String, second: String)]

    public init(_ first: [ReferencedVerse], _ second: [ReferencedVerse]) {
        var other: [VerseReference: String] = [:]
        for v in second where other[v.reference] == nil { other[v.reference] = v.text }
        var seen = Set<VerseReference>()
        pairs = first.compactMap { v in
            guard let text = other[v.reference], seen.insert(v.reference).inserted else { return nil }
            return (v.reference, v.text, text)
        }
    }

    public init(pairs: [(reference: VerseReference, first: String, second: String)]) { self.pairs = pairs }

    /// Reads files of ``tabSeparated()`` lines (what `pretrain corpus parallel` writes). A line
    /// without a `Book C:V` reference and two non-empty texts is an error naming it; lines that
    /// are not UTF-8 are skipped and counted in `invalidUTF8Lines`.
    public static func read(files: [String]) throws -> (verses: ParallelVerses, invalidUTF8Lines: Int) {
        var pairs: [(reference: VerseReference, first: String, second: String)] = []
        var stats = CorpusStatistics()
        let source = ParallelLinesSource(paths: files)
        while let pair = try source.nextPair(&stats) { pairs.append(pair) }
        guard !pairs.isEmpty else { throw CorpusError.emptyCorpus(description: files.joined(separator: ", ")) }
        return (ParallelVerses(pairs: pairs), stats.invalidUTF8Lines)
    }

    /// One `reference<TAB>first<TAB>second` line per pair (tabs and line breaks inside a text become spaces).
    public func tabSeparated() -> String {
        func clean(_ s: String) -> String { String(s.map { $0 == "\t" || $0.isNewline ? " " : $0 }) }
        return pairs.map { "\($0.reference)\t\(clean($0.first))\t\(clean($0.second))\n" }.joined()
    }

    /// The books, in order of first appearance.
    public var books: [String] {
        var seen = Set<String>()
        return pairs.compactMap { seen.insert($0.reference.book).inserted ? $0.reference.book : nil }
    }

    /// The pairs split by whole books: those of `heldoutBooks` (so no near-duplicate verse of a
    /// held-out book is trained on) and the rest.
    public func split(heldoutBooks: Set<String>) -> (train: [(reference: VerseReference, first: String, second: String)],
                                                     heldout: [(reference: VerseReference, first: String, second: String)]) {
        (pairs.filter { !heldoutBooks.contains($0.reference.book) }, pairs.filter { heldoutBooks.contains($0.reference.book) })
    }
}

/// Parallel-corpus lines `reference<TAB>first<TAB>second`; as documents (``CorpusFormat/parallel``)
/// each line is one document of its two texts.
final class ParallelLinesSource: DocumentSource {
    var lines: FileSequenceLines

    init(paths: [String]) { lines = FileSequenceLines(paths: paths, maxLineBytes: nil) }

    func nextPair(_ stats: inout CorpusStatistics) throws -> (reference: VerseReference, first: String, second: String)? {
        while let item = try lines.next() {
            guard case .line(let line, let path) = item else { continue }
            guard let text = decodeLine(line.bytes) else { stats.invalidUTF8Lines += 1; continue }
            if isBlank(text) { continue }
            func fail(_ why: String) -> CorpusError { .badParallelLine(path: path, line: line.number, reason: why) }
            let fields = text.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 3 else { throw fail("\(fields.count) tab-separated fields, not 3") }
            guard let reference = VerseReference(parsing: String(fields[0])) else { throw fail("'\(fields[0])' is not a reference like 'John 3:16'") }
            let (a, b) = (fields[1].trimmingCharacters(in: .whitespaces), fields[2].trimmingCharacters(in: .whitespaces))
            guard !a.isEmpty, !b.isEmpty else { throw fail("a side is empty") }
            return (reference, a, b)
        }
        return nil
    }

    func next(_ stats: inout CorpusStatistics) throws -> [String]? {
        try nextPair(&stats).map { [$0.first, $0.second] }
    }
}
