import Foundation

/// SplitMix64: a tiny seeded generator, so splits and samples are the same on every machine
/// (the standard library's generator is not seedable).
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64
    /// A generator starting from `seed`.
    public init(seed: UInt64) { state = seed }
    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// FNV-1a 64 of the UTF-8 bytes: a hash that does not change between runs (Swift's `Hasher` does).
func stableHash(_ s: String) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
    return h
}

/// Split of a group key: FNV-1a(key) mod 10 → 0–7 train, 8 dev, 9 test (80/10/10). Grouping by a
/// key keeps related examples (the same sentence, synset, lemma or chapter) in one split.
func splitOf(key: String) -> TaskSplit {
    switch stableHash(key) % 10 {
    case 8: return .dev
    case 9: return .test
    default: return .train
    }
}

/// Runs a command and returns its standard output (the Bible texts come from `bible`/`diatheke`).
enum CommandRunner {
    static func which(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        let line = ([executable] + arguments).joined(separator: " ")
        do { try p.run() } catch { throw TaskDataError.commandFailed(command: line, status: -1, output: "\(error)") }
        // Read before waiting: the output (megabytes) would fill the pipe and block the child.
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw TaskDataError.commandFailed(command: line, status: p.terminationStatus, output: String(decoding: data.prefix(500), as: UTF8.self))
        }
        return String(decoding: data, as: UTF8.self)
    }
}

// MARK: WordNet

/// One WordNet synset from `/usr/share/wordnet/data.{noun,verb,adj,adv}`.
public struct WordNetSynset: Sendable, Hashable {
    /// Byte offset in its data file (the synset's id within its part of speech).
    public var offset: Int
    /// Lexicographer file number (0–44: noun.animal, verb.motion, …).
    public var lexicographerFile: Int
    /// n, v, a, s (satellite adjective) or r.
    public var type: String
    /// Lemmas with `_` turned into spaces and adjective markers like `(a)` removed.
    public var words: [String]
    /// The definition: the gloss before its quoted examples.
    public var definition: String
    /// The quoted example sentences of the gloss.
    public var examples: [String]

    /// A key unique across the four files ("n00217014"); satellites count as adjectives.
    public var id: String { "\(type == "s" ? "a" : type)\(offset)" }
}

/// Parses WordNet 3.0 data files (the format of wndb(5)).
public enum WordNet {
    /// The default install location (Debian package `wordnet-base`).
    public static let defaultDirectory = "/usr/share/wordnet"

    /// All synsets of the four data files in `directory`.
    public static func synsets(directory: String = defaultDirectory) throws -> [WordNetSynset] {
        var out: [WordNetSynset] = []
        for pos in ["noun", "verb", "adj", "adv"] {
            let path = "\(directory)/data.\(pos)"
            guard FileManager.default.fileExists(atPath: path) else {
                throw TaskDataError.missingSource(task: "WordNet", path: path,
                                                  setup: "install the Debian package wordnet-base (scripts/setup.sh installs scripts/apt-packages.txt)")
            }
            var reader = try LineReader(path: path)
            while let line = try reader.next() {
                if line.hasPrefix("  ") || line.isEmpty { continue }  // the licence header
                guard let s = parse(line) else {
                    throw TaskDataError.malformedRow(path: path, line: reader.lineNumber, problem: "not a WordNet synset line",
                                                     fix: "reinstall wordnet-base")
                }
                out.append(s)
            }
        }
        return out
    }

    /// One data line: `offset lex_filenum ss_type w_cnt word lex_id … p_cnt … | gloss`.
    static func parse(_ line: String) -> WordNetSynset? {
        let bar = line.range(of: " | ")
        let head = bar.map { line[..<$0.lowerBound] } ?? Substring(line)
        let gloss = bar.map { String(line[$0.upperBound...]) } ?? ""
        let f = head.split(separator: " ")
        guard f.count >= 4, let offset = Int(f[0]), let lex = Int(f[1]), let count = Int(f[3], radix: 16), f.count >= 4 + 2 * count else { return nil }
        var words: [String] = []
        for i in 0..<count {
            var w = String(f[4 + 2 * i])
            if w.hasSuffix(")"), let p = w.lastIndex(of: "(") { w = String(w[..<p]) }  // able(a), (p), (ip)
            words.append(w.replacingOccurrences(of: "_", with: " "))
        }
        // Examples are the "…" strings of the gloss; the definition is the text before the first.
        var examples: [String] = []
        var definition = gloss
        if let q = gloss.firstIndex(of: "\"") {
            definition = String(gloss[..<q])
            var rest = gloss[gloss.index(after: q)...]
            while let close = rest.firstIndex(of: "\"") {
                let ex = rest[..<close].trimmingCharacters(in: .whitespaces)
                if !ex.isEmpty { examples.append(ex) }
                rest = rest[rest.index(after: close)...]
                guard let open = rest.firstIndex(of: "\"") else { break }
                rest = rest[rest.index(after: open)...]
            }
        }
        definition = definition.trimmingCharacters(in: .whitespaces)
        while definition.hasSuffix(";") || definition.hasSuffix(":") || definition.hasSuffix(",") {
            definition = String(definition.dropLast()).trimmingCharacters(in: .whitespaces)
        }
        return WordNetSynset(offset: offset, lexicographerFile: lex, type: String(f[2]), words: words, definition: definition, examples: examples)
    }

    /// Surface forms tried when looking for a lemma in a sentence: the lemma and simple
    /// inflections of its first and last word (+s, +es, +ed, +d, +ing, e-drop +ing, y→ies/ied,
    /// a doubled final consonant +ed/+ing).
    public static func inflections(of lemma: String) -> [String] {
        func forms(_ w: String) -> [String] {
            var f = [w, w + "s", w + "es", w + "ed", w + "d", w + "ing"]
            if w.hasSuffix("e") { f.append(String(w.dropLast()) + "ing") }
            if w.hasSuffix("y") { f += [String(w.dropLast()) + "ies", String(w.dropLast()) + "ied"] }
            if let last = w.last, "bdgklmnprt".contains(last) { f += [w + String(last) + "ed", w + String(last) + "ing"] }
            return f
        }
        let parts = lemma.split(separator: " ").map(String.init)
        guard let first = parts.first, let last = parts.last else { return [] }
        var out: [String] = []
        for f in forms(first) where parts.count > 1 { out.append(([f] + parts.dropFirst()).joined(separator: " ")) }
        for f in forms(last) { out.append((parts.dropLast() + [f]).joined(separator: " ")) }
        // Longest first, so "stopped" wins over "stop" where both would match.
        var seen = Set<String>()
        return out.filter { seen.insert($0).inserted }.sorted { $0.count > $1.count }
    }

    /// The span (Unicode scalars) of the first whole-word, case-insensitive occurrence of the
    /// lemma or an inflection in `sentence`, or nil.
    public static func find(_ lemma: String, in sentence: String) -> Range<Int>? {
        let text = Array(sentence.unicodeScalars).map(lower)
        func isWordScalar(_ c: Unicode.Scalar) -> Bool { c.properties.isAlphabetic || c.properties.numericType != nil }
        var best: Range<Int>?
        for form in inflections(of: lemma) {
            let f = Array(form.unicodeScalars).map(lower)
            guard !f.isEmpty, f.count <= text.count else { continue }
            var i = 0
            while i + f.count <= text.count {
                if text[i] == f[0], text[i..<(i + f.count)].elementsEqual(f),
                   i == 0 || !isWordScalar(text[i - 1]), i + f.count == text.count || !isWordScalar(text[i + f.count]) {
                    if i < (best?.lowerBound ?? Int.max) { best = i..<(i + f.count) }
                    break
                }
                i += 1
            }
        }
        return best
    }

    static func lower(_ c: Unicode.Scalar) -> Unicode.Scalar {
        let m = c.properties.lowercaseMapping.unicodeScalars
        return m.count == 1 ? m.first ?? c : c
    }
}

// MARK: Bibles

/// Verse-aligned King James and World English Bible texts, from the `bible` (bible-kjv) and
/// `diatheke` (sword-text-web) commands.
enum Bibles {
    struct Reference: Hashable, Comparable {
        var book: Int, chapter: Int, verse: Int
        static func < (a: Reference, b: Reference) -> Bool { (a.book, a.chapter, a.verse) < (b.book, b.chapter, b.verse) }
    }

    static func kjv() throws -> (books: [String], verses: [Reference: String]) {
        guard let bible = CommandRunner.which("bible") else {
            throw TaskDataError.missingSource(task: "paraphrase", path: "bible (King James Bible)",
                                              setup: "install the Debian package bible-kjv (scripts/setup.sh installs scripts/apt-packages.txt)")
        }
        let text = try CommandRunner.run(bible, ["Gen1:1-Rev22:21"], environment: ["COLUMNS": "100000"])
        var books: [String] = [], verses: [Reference: String] = [:]
        var chapter = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = Substring(raw)
            if line.first?.isWhitespace == false {
                // "Book N": a chapter heading.
                guard let sp = line.lastIndex(of: " "), let c = Int(line[line.index(after: sp)...]) else { continue }
                let book = String(line[..<sp])
                if books.last != book { books.append(book) }
                chapter = c
                continue
            }
            let t = line.drop(while: { $0 == " " })
            guard let sp = t.firstIndex(of: " "), let v = Int(t[..<sp]), !books.isEmpty else { continue }
            verses[Reference(book: books.count - 1, chapter: chapter, verse: v)] = clean(String(t[t.index(after: sp)...]))
        }
        return (books, verses)
    }

    static func web(books: [String]) throws -> [Reference: String] {
        guard let diatheke = CommandRunner.which("diatheke") else {
            throw TaskDataError.missingSource(task: "paraphrase", path: "diatheke (World English Bible)",
                                              setup: "install the Debian packages diatheke and sword-text-web (scripts/setup.sh installs scripts/apt-packages.txt)")
        }
        let text = try CommandRunner.run(diatheke, ["-b", "engWEB2015eb", "-f", "plain", "-k", "Gen 1:1-Rev 22:21"])
        var index: [String: Int] = [:]
        for (i, b) in books.enumerated() { index[b] = i }
        var verses: [Reference: String] = [:]
        var current: Reference?
        var buffer = ""
        func flush() { if let c = current { verses[c] = clean(buffer) }; buffer = "" }
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = Substring(raw)
            if let gt = line.lastIndex(of: ">") { line = line[line.index(after: gt)...] }
            line = line.drop(while: { $0 == " " })
            if let (book, chapter, verse, rest) = header(line) {
                flush()
                current = index[webName(book)].map { Reference(book: $0, chapter: chapter, verse: verse) }
                buffer = String(rest)
            } else if current != nil {
                buffer += " " + line
            }
        }
        flush()
        return verses
    }

    /// "I Samuel 3:4: text" → ("I Samuel", 3, 4, "text").
    static func header(_ line: Substring) -> (String, Int, Int, Substring)? {
        guard let colon = line.firstIndex(of: ":"), let sp = line[..<colon].lastIndex(of: " ") else { return nil }
        guard let chapter = Int(line[line.index(after: sp)..<colon]) else { return nil }
        let afterColon = line[line.index(after: colon)...]
        guard let colon2 = afterColon.firstIndex(of: ":"), let verse = Int(afterColon[..<colon2]) else { return nil }
        let book = line[..<sp]
        guard !book.isEmpty, book.allSatisfy({ $0.isLetter || $0 == " " || $0 == "(" || $0 == ")" }) else { return nil }
        return (String(book), chapter, verse, afterColon[afterColon.index(after: colon2)...])
    }

    /// WEB book names → the KJV program's ("II Kings" → "2 Kings").
    static func webName(_ b: String) -> String {
        if b == "Revelation of John" { return "Revelation" }
        for (roman, digit) in [("III ", "3 "), ("II ", "2 "), ("I ", "1 ")] where b.hasPrefix(roman) { return digit + b.dropFirst(roman.count) }
        return b
    }

    /// Drops leftover markup and collapses whitespace.
    static func clean(_ s: String) -> String {
        var out = "", inTag = false
        for c in s {
            if c == "<" { inTag = true; continue }
            if c == ">" && inTag { inTag = false; continue }
            if !inTag { out.append(c) }
        }
        return out.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }
}
