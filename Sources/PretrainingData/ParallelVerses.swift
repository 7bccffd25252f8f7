/// A verse's place: the book as the SWORD modules name it (English in every translation:
/// `Genesis`, `Revelation of John`), chapter and verse.
public struct VerseReference: Hashable, Sendable, CustomStringConvertible {
    public let book: String
    public let chapter: Int
    public let verse: Int
    public init(book: String, chapter: Int, verse: Int) { (self.book, self.chapter, self.verse) = (book, chapter, verse) }
    public var description: String { "\(book) \(chapter):\(verse)" }
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
