import Foundation

/// Real English corpora that install from OS packages (see DATA.md), extracted by our own code.
public enum BuiltInCorpus: String, CaseIterable, Sendable {
    /// WordNet 3.0: one document per synset, its gloss then each quoted example sentence.
    case wordnet
    /// World English Bible (SWORD module engWEB2015eb): one document per chapter, one verse per line.
    case web
    /// King James Bible (`bible`): one document per chapter, one verse per line.
    case kjv
    /// Reina-Valera 1909, Spanish (SWORD module spaRV1909eb): one document per chapter, one verse
    /// per line, Strong's numbers (`<G5547>`) removed — the Spanish side of translation LM.
    case rv1909
    /// GCIDE (Webster 1913 + WordNet): one document per entry, its headword then its senses and quotations.
    case gcide
    /// `fortune` quotes: one document per quote, one line per line.
    case fortunes

    /// One line about the corpus.
    public var summary: String {
        switch self {
        case .wordnet: return "WordNet 3.0 glosses and examples (~117k synsets, ~8 MB)"
        case .web: return "World English Bible (~37k verses, ~5 MB)"
        case .kjv: return "King James Bible (~31k verses, ~4 MB)"
        case .rv1909: return "Reina-Valera 1909, Spanish (~31k verses, ~3.9 MB)"
        case .gcide: return "GCIDE dictionary, Webster 1913 (~200k entries, ~30 MB)"
        case .fortunes: return "fortune quotes (~14k quotes, ~2.5 MB)"
        }
    }

    /// Folder holding the fetched (not apt-installed) corpora: `data/` of the current folder.
    public static let defaultDataDirectory = URL(fileURLWithPath: "data")

    static let wordnetFiles = ["noun", "verb", "adj", "adv"].map { "/usr/share/wordnet/data.\($0)" }
    static let fortunesFolder = "/usr/share/games/fortunes"

    /// Nil when the corpus can be read; otherwise what to do to install it.
    public func missingRequirement(dataDirectory: URL = BuiltInCorpus.defaultDataDirectory) -> String? {
        let fm = FileManager.default
        switch self {
        case .wordnet:
            return Self.wordnetFiles.allSatisfy(fm.fileExists) ? nil : "run `apt-get install -y wordnet-base` (or `bash scripts/setup.sh`)."
        case .web:
            guard findExecutable("diatheke") != nil else { return "run `apt-get install -y diatheke sword-text-web` (or `bash scripts/setup.sh`)." }
            return fm.fileExists(atPath: "/usr/share/sword/mods.d/engWEB2015eb.conf") || fm.fileExists(atPath: "/usr/share/sword/mods.d/engweb2015eb.conf")
                ? nil : "run `apt-get install -y sword-text-web` (or `bash scripts/setup.sh`)."
        case .kjv:
            return findExecutable("bible") != nil ? nil : "run `apt-get install -y bible-kjv` (or `bash scripts/setup.sh`)."
        case .rv1909:
            guard findExecutable("diatheke") != nil else { return "run `apt-get install -y diatheke sword-text-sparv` (or `bash scripts/setup.sh`)." }
            return fm.fileExists(atPath: "/usr/share/sword/mods.d/spaRV1909eb.conf") || fm.fileExists(atPath: "/usr/share/sword/mods.d/sparv1909eb.conf")
                ? nil : "run `apt-get install -y sword-text-sparv` (or `bash scripts/setup.sh`)."
        case .gcide:
            let d = dataDirectory.appendingPathComponent("gcide")
            guard fm.fileExists(atPath: d.appendingPathComponent("gcide.dict.dz").path),
                  fm.fileExists(atPath: d.appendingPathComponent("gcide.index").path) else {
                return "run `bash scripts/fetch-gcide.sh` from the repository root (it unpacks Debian's dict-gcide into data/gcide/)."
            }
            return findExecutable("zcat") != nil ? nil : "install gzip (`apt-get install -y gzip`)."
        case .fortunes:
            return fortuneFiles().isEmpty ? "run `apt-get install -y fortunes` (or `bash scripts/setup.sh`)." : nil
        }
    }

    /// The corpus as a document stream. Throws ``CorpusError/builtInUnavailable(name:remedy:)``
    /// when it is not installed.
    public func documents(dataDirectory: URL = BuiltInCorpus.defaultDataDirectory) throws -> DocumentStream {
        if let remedy = missingRequirement(dataDirectory: dataDirectory) { throw CorpusError.builtInUnavailable(name: rawValue, remedy: remedy) }
        let source: DocumentSource
        switch self {
        case .wordnet: source = WordNetSource(paths: Self.wordnetFiles)
        case .web:
            source = WebBibleSource(command: try CommandLines(executable: "diatheke", arguments: ["-b", swordModule ?? "", "-f", "plain", "-k", "Gen 1:1-Rev 22:21"]))
        case .rv1909:
            source = WebBibleSource(command: try CommandLines(executable: "diatheke", arguments: ["-b", swordModule ?? "", "-f", "plain", "-k", "Gen 1:1-Rev 22:21"]))
        case .kjv:
            source = KJVSource(command: try CommandLines(executable: "bible", arguments: ["Gen1:1-Rev22:21"], environment: ["COLUMNS": "100000"]))
        case .gcide:
            let d = dataDirectory.appendingPathComponent("gcide")
            source = try GCIDESource(dict: d.appendingPathComponent("gcide.dict.dz").path, index: d.appendingPathComponent("gcide.index").path)
        case .fortunes:
            // The text files of `fortune`: quotes separated by `%` lines; overstriking (`x\b`) removed.
            source = TextFilesSource(paths: fortuneFiles(), isSeparator: { $0 == "%" },
                                     clean: { collapseWhitespace(removeOverstrike($0)) })
        }
        return DocumentStream(name: "built-in '\(rawValue)'", source: source)
    }

    /// Every verse with its reference, in canonical order — the SWORD modules only (`web`,
    /// `rv1909`), whose references are the same English book names, so verses of two
    /// translations align by reference (``ParallelVerses``). Verses left empty are dropped.
    public func referencedVerses() throws -> [ReferencedVerse] {
        guard let module = swordModule else {
            throw CorpusError.builtInUnavailable(name: rawValue, remedy: "only the SWORD Bibles (web, rv1909) carry verse references; use one of them")
        }
        if let remedy = missingRequirement() { throw CorpusError.builtInUnavailable(name: rawValue, remedy: remedy) }
        let source = WebBibleSource(command: try CommandLines(executable: "diatheke", arguments: ["-b", module, "-f", "plain", "-k", "Gen 1:1-Rev 22:21"]))
        var statistics = CorpusStatistics(), out: [ReferencedVerse] = []
        while let chapter = try source.next(&statistics) {
            for (reference, text) in zip(source.lastReferences, chapter) where !text.isEmpty {
                out.append(ReferencedVerse(reference: reference, text: text))
            }
        }
        return out
    }

    /// The SWORD module a corpus is read from, if it is one.
    var swordModule: String? {
        switch self {
        case .web: return "engWEB2015eb"
        case .rv1909: return "spaRV1909eb"
        case .wordnet, .kjv, .gcide, .fortunes: return nil
        }
    }

    /// The text files of the fortunes folder (the `.dat` indexes and `.u8` links are skipped).
    func fortuneFiles() -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: Self.fortunesFolder) else { return [] }
        return names.filter { !$0.hasSuffix(".dat") && !$0.hasSuffix(".u8") && !$0.hasPrefix(".") }.sorted()
            .map { Self.fortunesFolder + "/" + $0 }
            .filter { var d: ObjCBool = false; return FileManager.default.fileExists(atPath: $0, isDirectory: &d) && !d.boolValue }
    }
}

/// The full path of an executable on PATH (and the usual game/bin folders), or nil.
func findExecutable(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
    for dir in path.split(separator: ":").map(String.init) + ["/usr/bin", "/bin", "/usr/games", "/usr/local/bin"] {
        let p = dir + "/" + name
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    return nil
}

/// The lines a command prints, read as they come (the command's stderr is discarded). A non-zero
/// exit status at the end is an error; dropping the reader early stops the command.
final class CommandLines {
    let process = Process()
    let pipe = Pipe()
    let reader: LineReader
    let display: String
    private var finished = false

    init(executable: String, arguments: [String], environment: [String: String] = [:]) throws {
        guard let path = findExecutable(executable) else {
            throw CorpusError.builtInUnavailable(name: executable, remedy: "`\(executable)` is not on PATH; run `bash scripts/setup.sh`.")
        }
        display = ([executable] + arguments).joined(separator: " ")
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw CorpusError.unreadable(path: path, reason: "cannot start it (\(error.localizedDescription))")
        }
        reader = LineReader(descriptor: pipe.fileHandleForReading.fileDescriptor, name: display, maxLineBytes: CorpusLimits.maxLineBytes)
    }

    /// Checks the exit status once the output has ended.
    func finish() throws {
        guard !finished else { return }
        finished = true
        process.waitUntilExit()
        if process.terminationStatus != 0 { throw CorpusError.commandFailed(command: display, status: process.terminationStatus) }
    }

    deinit {
        if process.isRunning { process.terminate() }
    }
}

/// Splits a WordNet gloss (`definition; definition; "example"; "example"`) at the semicolons
/// outside quotes: the definitions (one sentence) and the examples (each a sentence).
func splitGloss(_ gloss: Substring) -> (definition: String, examples: [String]) {
    var parts: [String] = []
    var current = ""
    var quoted = false
    for ch in gloss {
        if ch == "\"" { quoted.toggle() }
        if ch == ";" && !quoted {
            parts.append(current)
            current = ""
        } else {
            current.append(ch)
        }
    }
    parts.append(current)
    var defs: [String] = []
    var examples: [String] = []
    for p in parts {
        let t = p.trimmingCharacters(in: .whitespaces)
        if t.isEmpty { continue }
        if t.hasPrefix("\"") {
            var e = t.dropFirst()
            if let q = e.lastIndex(of: "\"") { e = e[..<q] }
            let s = e.trimmingCharacters(in: .whitespaces)
            if !s.isEmpty { examples.append(s) }
        } else {
            defs.append(t)
        }
    }
    return (defs.joined(separator: "; "), examples)
}

/// WordNet `data.*` files: each synset line's gloss (after `| `) and quoted examples.
final class WordNetSource: DocumentSource {
    var lines: FileSequenceLines
    init(paths: [String]) { lines = FileSequenceLines(paths: paths, maxLineBytes: nil) }

    func next(_ stats: inout CorpusStatistics) throws -> [String]? {
        while let item = try lines.next() {
            guard case .line(let raw, _) = item else { continue }
            // License lines start with spaces; synset lines with their 8-digit offset.
            guard raw.bytes.first.map({ $0 >= 48 && $0 <= 57 }) == true else { continue }
            guard let line = decodeLine(raw.bytes) else { stats.invalidUTF8Lines += 1; continue }
            guard let bar = line.range(of: " | ") else { continue }
            let (definition, examples) = splitGloss(line[bar.upperBound...])
            var doc: [String] = []
            if !definition.isEmpty { doc.append(definition) }
            doc += examples
            return doc
        }
        return nil
    }
}

/// Parses `Book C:V: text` (leading spaces allowed) into its parts.
func parseVerseHeader(_ line: String) -> (book: Substring, chapter: Int, verse: Int, text: Substring)? {
    guard let colon = line.range(of: ": ") else { return nil }
    let head = line[..<colon.lowerBound]
    guard let space = head.lastIndex(of: " ") else { return nil }
    let ref = head[head.index(after: space)...]
    let nums = ref.split(separator: ":", omittingEmptySubsequences: false)
    guard nums.count == 2, let c = Int(nums[0]), let v = Int(nums[1]) else { return nil }
    let book = head[..<space].drop { $0 == " " }
    guard !book.isEmpty else { return nil }
    return (book, c, v, line[colon.upperBound...])
}

/// A line that is only `(ModuleName)`.
func isModuleName(_ line: String) -> Bool {
    let t = line.trimmingCharacters(in: .whitespaces)
    return t.count > 2 && t.first == "(" && t.last == ")" && t.dropFirst().dropLast().allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
}

/// The text without `<…>` tags.
func removeMarkup<S: StringProtocol>(_ s: S) -> String {
    guard s.contains("<") else { return String(s) }
    var out = "", inTag = false
    for c in s {
        if c == "<" { inTag = true } else if c == ">" && inTag { inTag = false } else if !inTag { out.append(c) }
    }
    return out
}

/// Collapses runs of whitespace to one space and trims.
func collapseWhitespace<S: StringProtocol>(_ s: S) -> String {
    s.split(whereSeparator: \.isWhitespace).joined(separator: " ")
}

/// `diatheke -f plain` output (the WEB and the Reina-Valera modules): `Book C:V: text`, poetry
/// continuing on the following lines up to a blank line; anything else (psalm titles repeated by
/// diatheke, the glossary after Revelation) is not verse text and is left out, and so is markup
/// left in the text (the Reina-Valera's Strong's numbers, `<G5547>`).
final class WebBibleSource: DocumentSource {
    let command: CommandLines
    var chapter: (book: String, number: Int)?
    var verses: [String] = []
    var references: [VerseReference] = []
    /// The references of the verses of the chapter `next` returned last.
    private(set) var lastReferences: [VerseReference] = []
    var open = false
    var done = false
    /// A line after a verse, appended once the next line shows it is not a title.
    var pending: String?
    init(command: CommandLines) { self.command = command }

    func appendToVerse(_ s: String) {
        guard !verses.isEmpty, !s.isEmpty else { return }
        verses[verses.count - 1] += verses[verses.count - 1].isEmpty ? s : " " + s
    }

    func next(_ stats: inout CorpusStatistics) throws -> [String]? {
        while !done {
            guard let raw = try command.reader.nextLine() else {
                done = true
                try command.finish()
                break
            }
            guard let line = decodeLine(raw.bytes) else { stats.invalidUTF8Lines += 1; continue }
            if let h = parseVerseHeader(line) {
                // diatheke indents a verse's reference when it printed a (psalm) title on the line
                // before: that line is a title, not the previous verse's last line.
                if line.first != " ", let p = pending { appendToVerse(p) }
                pending = nil
                let key = (String(h.book), h.chapter)
                var finished: [String]? = nil
                if let c = chapter, c.book != key.0 || c.number != key.1 {
                    (finished, lastReferences) = (verses, references)
                    (verses, references) = ([], [])
                }
                chapter = key
                verses.append(collapseWhitespace(removeMarkup(h.text)))
                references.append(VerseReference(book: key.0, chapter: h.chapter, verse: h.verse))
                open = true
                if let f = finished, !f.isEmpty { return f }
            } else if isBlank(line) || isModuleName(line) {
                // diatheke ends its output with the module's name, `(spaRV1909eb)`, on a line of its own.
                if let p = pending { appendToVerse(p) }
                pending = nil
                open = false
            } else if open {
                if let p = pending { appendToVerse(p) }
                pending = collapseWhitespace(removeMarkup(line))
            }
        }
        if let p = pending { appendToVerse(p) }
        pending = nil
        let rest = verses
        (verses, lastReferences, references) = ([], references, [])
        return rest.isEmpty ? nil : rest
    }
}

/// `bible` output: a `Book C` line per chapter, then `  V text` per verse.
final class KJVSource: DocumentSource {
    let command: CommandLines
    var verses: [String] = []
    var done = false
    init(command: CommandLines) { self.command = command }

    func next(_ stats: inout CorpusStatistics) throws -> [String]? {
        while !done {
            guard let raw = try command.reader.nextLine() else {
                done = true
                try command.finish()
                break
            }
            guard let line = decodeLine(raw.bytes) else { stats.invalidUTF8Lines += 1; continue }
            if isBlank(line) { continue }
            if line.first == " " {
                let t = line.drop { $0 == " " }
                let digits = t.prefix { $0.isASCII && $0.isNumber }
                if !digits.isEmpty, t.dropFirst(digits.count).first == " " {
                    verses.append(collapseWhitespace(t.dropFirst(digits.count)))
                } else if !verses.isEmpty {
                    verses[verses.count - 1] += " " + collapseWhitespace(t)
                }
            } else if !verses.isEmpty {
                // A chapter heading: the previous chapter is complete.
                let doc = verses
                verses = []
                return doc
            }
        }
        let rest = verses
        verses = []
        return rest.isEmpty ? nil : rest
    }
}

/// Removes terminal overstriking: a character followed by backspace is dropped with it.
func removeOverstrike(_ s: String) -> String {
    guard s.contains("\u{8}") else { return s }
    var out: [Character] = []
    for ch in s {
        if ch == "\u{8}" { if !out.isEmpty { out.removeLast() } } else { out.append(ch) }
    }
    return String(out)
}

/// GCIDE in dictd format: `gcide.index` gives each entry's byte offset and length (base 64) in the
/// uncompressed `gcide.dict.dz`, which is streamed through `zcat`.
final class GCIDESource: DocumentSource {
    let command: CommandLines
    /// Entry spans (offset, length), ascending and non-overlapping.
    let spans: [(Int, Int)]
    var next = 0
    var done = false

    init(dict: String, index: String) throws {
        let reader = try LineReader(path: index, maxLineBytes: nil)
        var seen = Set<Int>()
        var spans: [(Int, Int)] = []
        while let raw = try reader.nextLine() {
            guard let line = decodeLine(raw.bytes) else { continue }
            let f = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard f.count >= 3, !f[0].hasPrefix("00-database"), !f[0].hasPrefix("00database"),
                  let o = decodeBase64Number(f[1]), let n = decodeBase64Number(f[2]), n > 0 else { continue }
            if seen.insert(o).inserted { spans.append((o, n)) }
        }
        spans.sort { $0.0 < $1.0 }
        var kept: [(Int, Int)] = []
        for s in spans where kept.last.map({ $0.0 + $0.1 <= s.0 }) ?? true { kept.append(s) }
        self.spans = kept
        command = try CommandLines(executable: "zcat", arguments: [dict])
    }

    func next(_ stats: inout CorpusStatistics) throws -> [String]? {
        while next < spans.count {
            let (offset, length) = spans[next]
            next += 1
            let r = command.reader
            try r.skip(offset - r.position)
            let bytes = try r.read(length)
            guard let text = String(validating: bytes, as: UTF8.self) else { stats.invalidUTF8Lines += 1; continue }
            let doc = gcideEntryDocument(text)
            if doc.count > 1 { return doc }
        }
        if !done {
            done = true
            // Drain what follows the last entry so that zcat exits normally.
            while try command.reader.nextLine() != nil {}
            try command.finish()
        }
        return nil
    }
}

/// A dictd index number: base 64, most significant digit first.
func decodeBase64Number<S: StringProtocol>(_ s: S) -> Int? {
    var v = 0
    for c in s.utf8 {
        let d: Int
        switch c {
        case 65...90: d = Int(c) - 65
        case 97...122: d = Int(c) - 97 + 26
        case 48...57: d = Int(c) - 48 + 52
        case 43: d = 62
        case 47: d = 63
        default: return nil
        }
        v = v * 64 + d
    }
    return s.isEmpty ? nil : v
}

/// One GCIDE entry as a document: the headword, then each sense and quotation as a sentence.
/// Pronunciations (`\…\`), accent codes (`[a^]`), source tags (`[1913 Webster]`) and cross-
/// reference braces are markup, not prose, and are removed; the first paragraph (pronunciation,
/// part of speech, etymology) is reduced to the headword.
func gcideEntryDocument(_ text: String) -> [String] {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    guard let first = lines.first else { return [] }
    let headword = first.split(separator: "\\", maxSplits: 1).first.map { collapseWhitespace($0) } ?? ""
    var doc: [String] = headword.isEmpty ? [] : [headword.replacingOccurrences(of: "\"", with: "").replacingOccurrences(of: "*", with: "")]
    var paragraph: [Substring] = []
    var inHeader = true
    var headerDepth = 0
    var lastIndent = 0
    func flush() {
        defer { paragraph = [] }
        guard !paragraph.isEmpty else { return }
        if inHeader { inHeader = false; return }
        let cleaned = cleanGCIDE(paragraph.joined(separator: " "))
        if cleaned.count > 1 { doc.append(cleaned) }
    }
    for line in lines {
        let trimmed = line.drop { $0 == " " }
        let indent = line.count - trimmed.count
        if trimmed.isEmpty { flush(); continue }
        if inHeader {
            // The header (headword, pronunciation, part of speech, [etymology]) ends on the line
            // where its brackets close.
            paragraph.append(trimmed)
            for c in trimmed { if c == "[" || c == "(" { headerDepth += 1 } else if c == "]" || c == ")" { headerDepth -= 1 } }
            if headerDepth <= 0 { flush() }
            lastIndent = indent
            continue
        }
        if trimmed.hasPrefix("[") && trimmed.hasSuffix("]") && !trimmed.dropFirst().contains("[") {
            // A source tag such as [1913 Webster] closes its paragraph.
            flush(); continue
        }
        let number = trimmed.prefix { $0.isASCII && $0.isNumber }
        let startsSense = !number.isEmpty && number.count < 3 && trimmed.dropFirst(number.count).hasPrefix(". ")
        let startsQuote = indent >= 10 && lastIndent < 10
        if startsSense || startsQuote { flush() }
        paragraph.append(trimmed)
        lastIndent = indent
    }
    flush()
    return doc
}

/// Removes GCIDE's dictd markup from a paragraph.
func cleanGCIDE(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.count)
    var chars = Array(s)
    var i = 0
    // Pronunciations: \…\ spans.
    var noPron: [Character] = []
    while i < chars.count {
        if chars[i] == "\\", let j = chars[(i + 1)...].firstIndex(of: "\\") { i = j + 1; continue }
        noPron.append(chars[i])
        i += 1
    }
    chars = noPron
    i = 0
    while i < chars.count {
        let c = chars[i]
        if c == "[" , let j = chars[(i + 1)...].prefix(8).firstIndex(of: "]") {
            // Accent codes like [a^], [=e], [imac] are dropped; longer brackets ([Obs.]) too when short.
            let inner = chars[(i + 1)..<j]
            if inner.count <= 6 && !inner.contains(" ") { i = j + 1; continue }
        }
        if c == "{" || c == "}" { i += 1; continue }
        out.append(c)
        i += 1
    }
    return collapseWhitespace(out)
}
