import ArgumentParser
import Foundation
import PretrainingData
import Tokenizers

/// `pretrain prepare`: tokenize a corpus once into memory-mapped binary shards.
struct PrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Tokenize corpus files in parallel into binary shards (shard-*.bin + manifest.json) for training.")

    @Option(parsing: .upToNextOption, help: "Corpus files (or folders with --format folder).") var corpus: [String]
    @Option(help: "Corpus layout: text (a sentence per line, blank line between documents), folder (of .txt files) or jsonl.")
    var format: CorpusFormat = .text
    @Option(name: .customLong("text-field"), help: "JSONL field holding each document's text.") var textField: String = "text"
    @Option(help: "tokenizer.json (or a BERT vocab.txt, or a folder with one).") var tokenizer: String
    @Option(help: "Output folder for the shards.") var output: String
    @Option(name: .customLong("tokens-per-shard"), help: "Start a new shard after this many tokens.") var tokensPerShard: Int = 50_000_000
    @Option(help: "Encoding threads.") var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        if corpus.isEmpty { throw ValidationError("give at least one --corpus FILE") }
        if tokensPerShard < 1 { throw ValidationError("--tokens-per-shard must be at least 1") }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        try runReportingErrors {
            try runReportingDataErrors {
                let tok = try Tokenizer.load(path: tokenizer)
                let terminal = isatty(2) != 0
                var lastReport = Date.distantPast
                let summary = try prepareCorpus(
                    files: corpus, format: format, textField: textField, tokenizer: tok,
                    output: URL(fileURLWithPath: output), options: PrepareOptions(tokensPerShard: tokensPerShard, threads: threads)
                ) { p in
                    // A live line on a terminal; at most one line every 5 s in logs.
                    let now = Date()
                    guard terminal || now.timeIntervalSince(lastReport) >= 5 else { return }
                    lastReport = now
                    let line = String(format: "prepare: %d documents, %d tokens, %.1f MB, %.0f tokens/s",
                                      p.documentsRead, p.tokens, Double(p.bytes) / 1e6, Double(p.tokens) / max(p.seconds, 1e-9))
                    FileHandle.standardError.write(Data((terminal ? "\r\u{1B}[K" + line : line + "\n").utf8))
                }
                if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
                print("documents \(summary.documents), sentences \(summary.sentences), tokens \(summary.tokens) in \(summary.shards.count) shard(s) → \(output)")
                var skipped = "skipped: \(summary.emptyDocuments) empty documents, \(summary.emptySentences) empty sentences"
                if let c = summary.corpus {
                    skipped += ", \(c.invalidUTF8Lines) invalid UTF-8 lines, \(c.emptyDocuments) empty input documents; \(c.splitLongLines) long lines split"
                }
                print(skipped)
                print(String(format: "%.2f s, %.0f tokens/s (%d threads)", summary.seconds, summary.tokensPerSecond, threads))
            }
        }
    }
}
