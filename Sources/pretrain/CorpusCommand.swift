import ArgumentParser
import Foundation
import PretrainingData

/// `pretrain corpus …`: the built-in real corpora (installed from OS packages).
struct CorpusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corpus", abstract: "Build plain-text corpora from the built-in real corpora (see DATA.md).",
        subcommands: [CorpusBuild.self, CorpusParallel.self])
}

/// `pretrain corpus parallel`: two Bible translations aligned verse by verse.
struct CorpusParallel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parallel",
        abstract: "Write two SWORD Bibles (web, rv1909) aligned by verse: one `reference<TAB>first<TAB>second` line per verse both have.")

    @Argument(help: "The first translation (web or rv1909).") var first: String
    @Argument(help: "The second translation.") var second: String
    @Option(help: "Output TSV file.") var output: String

    func run() throws {
        try runReportingDataErrors {
            let corpora = try [first, second].map { name -> BuiltInCorpus in
                guard let c = BuiltInCorpus(rawValue: name) else { throw CorpusError.unknownBuiltIn(name: name) }
                return c
            }
            let parallel = ParallelVerses(try corpora[0].referencedVerses(), try corpora[1].referencedVerses())
            try Data(parallel.tabSeparated().utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
            print("\(parallel.pairs.count) verses of \(parallel.books.count) books aligned → \(output)")
        }
    }
}

/// Fails with a data error's message (exit code 1), never a crash.
func runReportingDataErrors(_ body: () throws -> Void) throws {
    do { try body() } catch let e as CorpusError {
        FileHandle.standardError.write(Data("error: \(e.description)\n".utf8))
        throw ExitCode(1)
    } catch let e as ShardError {
        FileHandle.standardError.write(Data("error: \(e.description)\n".utf8))
        throw ExitCode(1)
    }
}

/// `pretrain corpus build`.
struct CorpusBuild: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Write built-in corpora as one text file: one sentence per line, a blank line between documents.")

    @Flag(help: "List the built-in corpora, whether each is installed, and stop.") var list = false
    @Option(help: "Output text file.") var output: String?
    @Option(name: .customLong("data-dir"), help: "Folder with fetched corpora (gcide/).") var dataDir: String = "data"
    @Argument(help: "Corpus names: \(BuiltInCorpus.allCases.map(\.rawValue).joined(separator: ", ")).") var names: [String] = []

    func validate() throws {
        if !list {
            if names.isEmpty { throw ValidationError("name at least one corpus (see --list)") }
            if output == nil { throw ValidationError("give --output FILE") }
        }
    }

    func run() throws {
        try runReportingDataErrors {
            let dataURL = URL(fileURLWithPath: dataDir)
            if list {
                for c in BuiltInCorpus.allCases {
                    let state = c.missingRequirement(dataDirectory: dataURL).map { "not installed: \($0)" } ?? "installed"
                    print("\(c.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) \(c.summary) — \(state)")
                }
                return
            }
            let corpora = try names.map { n -> BuiltInCorpus in
                guard let c = BuiltInCorpus(rawValue: n.lowercased()) else { throw CorpusError.unknownBuiltIn(name: n) }
                return c
            }
            guard let output else { return }
            let writer = try TextCorpusWriter(path: output)
            var total = CorpusStatistics()
            for c in corpora {
                let start = Date()
                let stream = try c.documents(dataDirectory: dataURL)
                while let doc = try stream.nextDocument() { try writer.write(document: doc) }
                let s = stream.statistics
                total.documents += s.documents; total.lines += s.lines; total.bytes += s.bytes
                print(String(format: "%@ %9d documents %9d lines %11d bytes%@ (%.1fs)", c.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0),
                             s.documents, s.lines, s.bytes, skippedNote(s), Date().timeIntervalSince(start)))
            }
            try writer.finish()
            print(String(format: "total     %9d documents %9d lines %11d bytes → %@", total.documents, total.lines, total.bytes, output))
        }
    }
}

/// The skip counts of a corpus read, when there are any.
func skippedNote(_ s: CorpusStatistics) -> String {
    var parts: [String] = []
    if s.invalidUTF8Lines > 0 { parts.append("\(s.invalidUTF8Lines) invalid UTF-8 lines skipped") }
    if s.splitLongLines > 0 { parts.append("\(s.splitLongLines) long lines split") }
    if s.emptyDocuments > 0 { parts.append("\(s.emptyDocuments) empty documents skipped") }
    return parts.isEmpty ? "" : " (" + parts.joined(separator: ", ") + ")"
}
