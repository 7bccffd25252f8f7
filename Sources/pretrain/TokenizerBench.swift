import ArgumentParser
import Foundation
import Tokenizers

/// `pretrain bench tokenizers`: encode throughput and training time (release mode).
/// `scripts/bench/bench_tokenizers.py` runs it next to Hugging Face `tokenizers` and prints ratios.
struct TokenizerBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizers", abstract: "Tokenizer encode throughput and training time; prints one JSON object.")

    @Option(help: "UTF-8 text file, one text per line.") var corpus: String
    @Option(name: .customLong("tokenizer"), parsing: .upToNextOption, help: "name=path of tokenizer.json files to time.") var tokenizers: [String] = []
    @Option(name: .customLong("encode-mb"), help: "Megabytes of the corpus (from its start) used for encoding.") var encodeMB: Double = 10
    @Option(name: .customLong("train-vocab"), help: "Vocabulary size for the training runs (0: skip training).") var trainVocab: Int = 30000
    @Option(name: .customLong("long-line-mb"), help: "Also encode one line of this many MB (0: skip).") var longLineMB: Int = 0

    func run() throws {
        try runReportingErrors {
            let all = try TextFiles.lines(corpus)
            var sample: [String] = []
            var bytes = 0
            for l in all {
                if Double(bytes) >= encodeMB * 1_000_000 { break }
                sample.append(l); bytes += l.utf8.count + 1
            }
            var result: [(String, JSONValue)] = [("sample_bytes", .number(Double(bytes))), ("sample_lines", .number(Double(sample.count))),
                                                 ("cores", .number(Double(ProcessInfo.processInfo.activeProcessorCount)))]
            for spec in tokenizers {
                let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw TokenizerError.unreadableFile(path: spec, reason: "expected name=path") }
                let tok = try Tokenizer(contentsOf: URL(fileURLWithPath: parts[1]))
                _ = try tok.encodeBatch(Array(sample.prefix(2000)), truncation: .some(nil), padding: .some(nil))  // warm-up
                var t0 = Date()
                var tokens = 0
                for l in sample { tokens += try tok.encode(l, truncation: .some(nil), padding: .some(nil)).count }
                let single = Date().timeIntervalSince(t0)
                t0 = Date()
                var batchTokens = 0
                var i = 0
                while i < sample.count {
                    let hi = min(sample.count, i + 10_000)
                    batchTokens += try tok.encodeBatch(Array(sample[i..<hi]), truncation: .some(nil), padding: .some(nil)).reduce(0) { $0 + $1.count }
                    i = hi
                }
                let batch = Date().timeIntervalSince(t0)
                result.append((parts[0], .object([
                    ("tokens", .number(Double(tokens))), ("single_s", .number(single)), ("batch_s", .number(batch)),
                    ("single_mb_s", .number(Double(bytes) / 1e6 / single)), ("single_tok_s", .number(Double(tokens) / single)),
                    ("batch_mb_s", .number(Double(bytes) / 1e6 / batch)), ("batch_tok_s", .number(Double(batchTokens) / batch)),
                ])))
                FileHandle.standardError.write(Data("\(parts[0]): single \(String(format: "%.2f", Double(bytes) / 1e6 / single)) MB/s, batch \(String(format: "%.2f", Double(bytes) / 1e6 / batch)) MB/s\n".utf8))
                if longLineMB > 0 {
                    let unit = "The quick brown fox jumps over the lazy dog; café 한국어 😀. "
                    let line = String(repeating: unit, count: longLineMB * 1_000_000 / unit.utf8.count)
                    let t = Date()
                    let n = try tok.encode(line, truncation: .some(nil), padding: .some(nil)).count
                    result.append((parts[0] + "_long_line", .object([("bytes", .number(Double(line.utf8.count))), ("tokens", .number(Double(n))),
                                                                     ("seconds", .number(Date().timeIntervalSince(t)))])))
                }
            }
            if trainVocab > 0 {
                for kind in [TrainerKind.wordpiece, .bpe] {
                    let t = Date()
                    let tok = try trainTokenizer(kind: kind, lines: all, options: TrainerOptions(vocabSize: trainVocab, minFrequency: 2))
                    let s = Date().timeIntervalSince(t)
                    result.append(("train_\(kind.rawValue)", .object([("seconds", .number(s)), ("vocab", .number(Double(tok.vocabularySize)))])))
                    FileHandle.standardError.write(Data("train \(kind.rawValue): \(String(format: "%.1f", s)) s\n".utf8))
                }
            }
            print(JSONValue.object(result).serialized())
        }
    }
}
