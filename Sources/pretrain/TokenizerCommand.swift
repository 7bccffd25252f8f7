import ArgumentParser
import Foundation
import Tokenizers

/// `pretrain tokenizer …`: train, encode and decode with Hugging Face compatible tokenizers.
struct TokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer", abstract: "Train, encode and decode tokenizers (Hugging Face tokenizer.json).",
        subcommands: [TokenizerTrain.self, TokenizerEncode.self, TokenizerDecode.self])
}

/// Fails with the tokenizer error's message (exit code 1), never a crash.
func runReportingErrors(_ body: () throws -> Void) throws {
    do { try body() } catch let e as TokenizerError {
        FileHandle.standardError.write(Data("error: \(e.description)\n".utf8))
        throw ExitCode(1)
    }
}

/// `pretrain tokenizer train`.
struct TokenizerTrain: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train", abstract: "Train a WordPiece, BPE or Unigram tokenizer on text files.")

    @Option(help: "wordpiece, bpe or unigram.") var model: String
    @Option(name: .customLong("vocab-size"), help: "Target vocabulary size (special tokens included).") var vocabSize: Int
    @Option(name: .customLong("min-frequency"), help: "Minimum pair/word frequency for a merge.") var minFrequency: Int = 2
    @Option(name: .customLong("special-tokens"), parsing: .upToNextOption, help: "Special tokens (default per model).") var specialTokens: [String] = []
    @Option(name: .customLong("limit-alphabet"), help: "Keep at most this many initial characters.") var limitAlphabet: Int?
    @Flag(name: .customLong("show-progress"), inversion: .prefixedNo, help: "Progress on stderr.") var showProgress = true
    @Option(help: "Output tokenizer.json path.") var output: String
    @Argument(help: "Training text files (UTF-8, one sentence per line).") var files: [String]

    func run() throws {
        try runReportingErrors {
            guard let kind = TrainerKind(rawValue: model.lowercased()) else {
                throw TokenizerError.training("unknown model '\(model)': use wordpiece, bpe or unigram")
            }
            var opts = TrainerOptions(vocabSize: vocabSize, minFrequency: minFrequency, specialTokens: specialTokens.isEmpty ? nil : specialTokens,
                                      limitAlphabet: limitAlphabet, showProgress: showProgress)
            opts.showProgress = showProgress
            guard !files.isEmpty else { throw TokenizerError.training("no training files given") }
            let start = Date()
            let tok = try trainTokenizer(kind: kind, files: files, options: opts)
            let url = URL(fileURLWithPath: output)
            try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try tok.save(to: url)
            FileHandle.standardError.write(Data(String(format: "trained %@ vocabulary of %d in %.2fs → %@\n", kind.rawValue, tok.vocabularySize,
                                                       Date().timeIntervalSince(start), output).utf8))
        }
    }
}

/// Truncation / padding options shared by encode.
struct EncodeOptions: ParsableArguments {
    @Option(name: .customLong("max-length"), help: "Truncate to this many tokens (specials included).") var maxLength: Int?
    @Option(help: "Truncation strategy: longest-first, only-first or only-second.") var truncation: String = "longest-first"
    @Option(help: "Overlap between overflowing windows.") var stride: Int = 0
    @Option(name: .customLong("pad-to"), help: "Pad every encoding to this length.") var padTo: Int?
    @Flag(name: .customLong("no-special-tokens"), help: "Do not add [CLS]/[SEP]-style tokens.") var noSpecialTokens = false
    @Flag(name: .customLong("overflowing"), help: "Also print the overflowing windows (key `overflowing`).") var showOverflowing = false
}

/// `pretrain tokenizer encode`.
struct TokenizerEncode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Encode text; prints one JSON object per text with ids, type_ids, tokens, offsets (Unicode scalar indices) and word_ids.")

    @Option(help: "tokenizer.json, a BERT vocab.txt, or a folder with vocab.json + merges.txt.") var tokenizer: String
    @Option(help: "Second sequence of the pair.") var pair: String?
    @Option(name: .customLong("pair-input"), help: "File of second sequences, one per line (paired line by line with --input).") var pairInput: String?
    @Option(help: "File of texts, one per line, each taken literally.") var input: String?
    @OptionGroup var options: EncodeOptions
    @Argument(help: "Text to encode.") var text: String?

    func validate() throws {
        if (text == nil) == (input == nil) { throw ValidationError("give either TEXT or --input FILE") }
        if pair != nil && pairInput != nil { throw ValidationError("give at most one of --pair and --pair-input") }
        if pairInput != nil && input == nil { throw ValidationError("--pair-input needs --input") }
    }

    func run() throws {
        try runReportingErrors {
            let tok = try Tokenizer.load(path: tokenizer)
            var trunc: TruncationParams?? = .some(nil)
            if let m = options.maxLength {
                let s: TruncationStrategy
                switch options.truncation {
                case "longest-first", "longest_first": s = .longestFirst
                case "only-first", "only_first": s = .onlyFirst
                case "only-second", "only_second": s = .onlySecond
                default: throw TokenizerError.truncation("unknown strategy '\(options.truncation)' (longest-first, only-first, only-second)")
                }
                trunc = .some(TruncationParams(maxLength: m, stride: options.stride, strategy: s))
            }
            var pad: PaddingParams?? = .some(nil)
            if let p = options.padTo {
                let padToken = tok.config.padding?.padToken ?? (tok.id(of: "[PAD]") != nil ? "[PAD]" : "<pad>")
                pad = .some(PaddingParams(strategy: .fixed(p), padID: tok.id(of: padToken) ?? 0, padToken: padToken))
            }
            var out = FileOutput()
            if let input {
                let texts = try TextFiles.lines(input)
                var pairs: [String]?
                if let pairInput {
                    pairs = try TextFiles.lines(pairInput)
                    guard pairs!.count == texts.count else {
                        throw TokenizerError.unreadableFile(path: pairInput, reason: "has \(pairs!.count) lines but --input has \(texts.count)")
                    }
                } else if let pair { pairs = Array(repeating: pair, count: texts.count) }
                // Parallel, in chunks so memory stays bounded.
                let chunk = 20_000
                var i = 0
                while i < texts.count {
                    let hi = min(texts.count, i + chunk)
                    let encs = try tok.encodeBatch(Array(texts[i..<hi]), pairs: pairs.map { Array($0[i..<hi]) },
                                                   addSpecialTokens: !options.noSpecialTokens, truncation: trunc, padding: pad)
                    for e in encs { out.write(encodingJSON(e, overflowing: options.showOverflowing)) }
                    i = hi
                }
            } else if let text {
                let e = try tok.encode(text, pair: pair, addSpecialTokens: !options.noSpecialTokens, truncation: trunc, padding: pad)
                out.write(encodingJSON(e, overflowing: options.showOverflowing))
            }
            out.flush()
        }
    }
}

/// `pretrain tokenizer decode`.
struct TokenizerDecode: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "decode", abstract: "Decode ids to text.")
    @Option(help: "tokenizer.json, a BERT vocab.txt, or a folder with vocab.json + merges.txt.") var tokenizer: String
    @Flag(name: .customLong("skip-special-tokens"), help: "Leave out special tokens.") var skipSpecialTokens = false
    @Argument(help: "Token ids.") var ids: [Int]

    func run() throws {
        try runReportingErrors {
            let tok = try Tokenizer.load(path: tokenizer)
            print(try tok.decode(ids, skipSpecialTokens: skipSpecialTokens))
        }
    }
}

/// One JSON object (one line) for an encoding.
func encodingJSON(_ e: Encoding, overflowing: Bool = false) -> [UInt8] {
    var o: [UInt8] = []
    o.reserveCapacity(e.count * 24 + 64)
    func ints(_ a: [Int]) {
        o.append(UInt8(ascii: "["))
        for (i, v) in a.enumerated() { if i > 0 { o.append(44) }; o.append(contentsOf: String(v).utf8) }
        o.append(UInt8(ascii: "]"))
    }
    func body(_ e: Encoding) {
        o.append(contentsOf: Array("{\"ids\":".utf8)); ints(e.ids)
        o.append(contentsOf: Array(",\"type_ids\":".utf8)); ints(e.typeIDs)
        o.append(contentsOf: Array(",\"tokens\":[".utf8))
        for (i, t) in e.tokens.enumerated() { if i > 0 { o.append(44) }; JSONValue.writeString(t, into: &o) }
        o.append(contentsOf: Array("],\"offsets\":[".utf8))
        for (i, off) in e.offsets.enumerated() {
            if i > 0 { o.append(44) }
            o.append(UInt8(ascii: "[")); o.append(contentsOf: String(off.start).utf8); o.append(44); o.append(contentsOf: String(off.end).utf8); o.append(UInt8(ascii: "]"))
        }
        o.append(contentsOf: Array("],\"word_ids\":[".utf8))
        for (i, w) in e.wordIDs.enumerated() {
            if i > 0 { o.append(44) }
            if let w { o.append(contentsOf: String(w).utf8) } else { o.append(contentsOf: Array("null".utf8)) }
        }
        o.append(UInt8(ascii: "]"))
        if e.attentionMask.contains(0) { o.append(contentsOf: Array(",\"attention_mask\":".utf8)); ints(e.attentionMask) }
    }
    body(e)
    if overflowing && !e.overflowing.isEmpty {
        o.append(contentsOf: Array(",\"overflowing\":[".utf8))
        for (i, x) in e.overflowing.enumerated() {
            if i > 0 { o.append(44) }
            body(x); o.append(UInt8(ascii: "}"))
        }
        o.append(UInt8(ascii: "]"))
    }
    o.append(UInt8(ascii: "}"))
    o.append(10)
    return o
}

/// Buffered stdout.
struct FileOutput {
    var buffer: [UInt8] = []
    mutating func write(_ b: [UInt8]) {
        buffer += b
        if buffer.count > 1 << 20 { flush() }
    }
    mutating func flush() {
        FileHandle.standardOutput.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }
}
