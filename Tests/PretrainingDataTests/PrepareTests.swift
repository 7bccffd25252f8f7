import Foundation
import XCTest
import Tokenizers
@testable import PretrainingData

final class PrepareTests: XCTestCase {
    static let lines = [
        "The quick brown fox jumps over the lazy dog.",
        "Unbelievably, the tokenizers split unbelievable words into pieces.",
        "A dog and a fox are friends; the dog sleeps.",
        "Tokenization happens once, before pretraining starts.",
        "Whole-word masking needs to know where each word begins.",
    ]

    func corpus() -> [[String]] {
        var docs: [[String]] = []
        for i in 0..<60 { docs.append([Self.lines[i % 5], "   ", Self.lines[(i + 2) % 5] + " \(i)"]) }
        docs.insert(["", "  "], at: 7)
        return docs
    }

    func testWordStartsForWordPieceBPEAndUnigram() throws {
        let text = "unbelievably quick tokenizers"
        for kind in [TrainerKind.wordpiece, .bpe, .unigram] {
            let tok = try trainTokenizer(kind: kind, lines: Self.lines, options: TrainerOptions(vocabSize: kind == .unigram ? 120 : 90, minFrequency: 1))
            let enc = try encodeSentence(text, tokenizer: tok)
            let pieces = enc.ids.map { tok.token(of: Int($0)) ?? "?" }
            XCTAssertGreaterThan(enc.ids.count, 3, "\(kind): the small vocabulary splits words: \(pieces)")
            XCTAssertEqual(enc.wordStarts.filter { $0 }.count, 3, "\(kind): three words in \(pieces)")
            XCTAssertEqual(enc.wordStarts.first, true)
            // Every piece that is not a word start continues its word: WordPiece marks them ##,
            // byte-level BPE and Metaspace mark the word starts instead.
            for (p, s) in zip(pieces, enc.wordStarts) {
                switch kind {
                case .wordpiece: XCTAssertEqual(!s, p.hasPrefix("##"), "\(pieces)")
                case .bpe: if s && p != pieces[0] { XCTAssertTrue(p.hasPrefix("Ġ"), "\(pieces)") }
                case .unigram: XCTAssertEqual(s, p.hasPrefix("▁") || p == "▁", "\(pieces)")
                }
            }
        }
    }

    func testPrepareWritesShardsAndManifestIdenticalForAnyThreadCount() throws {
        let tok = try trainTokenizer(kind: .wordpiece, lines: Self.lines, options: TrainerOptions(vocabSize: 150, minFrequency: 1))
        let docs = corpus()
        var outputs: [[Data]] = []
        for threads in [1, 3] {
            let dir = try temporaryFolder()
            var reports = 0
            let summary = try prepareShards(documents: docs, tokenizer: tok, outputDirectory: dir,
                                            options: PrepareOptions(tokensPerShard: 300, threads: threads, batchBytes: 1_000)) { _ in reports += 1 }
            XCTAssertGreaterThan(reports, 1)
            XCTAssertEqual(summary.documents, 60)
            XCTAssertEqual(summary.emptyDocuments, 1)
            XCTAssertEqual(summary.emptySentences, 62)
            XCTAssertEqual(summary.sentences, 120)
            XCTAssertGreaterThan(summary.shards.count, 2)
            let corpus = try ShardedCorpus.open(directory: dir, tokenizer: tok)
            XCTAssertEqual(corpus.documentCount, 60)
            XCTAssertEqual(corpus.tokenCount, summary.tokens)
            // The first document reads back as its encoded sentences.
            let s0 = corpus.sentences(ofDocument: 0)
            XCTAssertEqual(s0.count, 2)
            let expected = try encodeSentence(docs[0][0], tokenizer: tok)
            XCTAssertEqual(corpus.tokenIDs(corpus.tokens(ofSentence: s0.lowerBound)), expected.ids)
            XCTAssertEqual(corpus.wordStarts(corpus.tokens(ofSentence: s0.lowerBound)), expected.wordStarts)
            // The document after the empty one.
            let s7 = corpus.sentences(ofDocument: 7)
            XCTAssertEqual(corpus.tokenIDs(corpus.tokens(ofSentence: s7.lowerBound)), try encodeSentence(docs[8][0], tokenizer: tok).ids)
            outputs.append(try summary.shards.map { try Data(contentsOf: dir.appendingPathComponent($0)) }
                           + [try Data(contentsOf: dir.appendingPathComponent("manifest.json"))])
        }
        XCTAssertEqual(outputs[0], outputs[1], "shards are identical for 1 and 3 threads")
    }

    func testOpeningWithAnotherTokenizerIsRefused() throws {
        let tok = try trainTokenizer(kind: .wordpiece, lines: Self.lines, options: TrainerOptions(vocabSize: 150, minFrequency: 1))
        let other = try trainTokenizer(kind: .bpe, lines: Self.lines, options: TrainerOptions(vocabSize: 150, minFrequency: 1))
        let dir = try temporaryFolder()
        _ = try prepareShards(documents: corpus(), tokenizer: tok, outputDirectory: dir, options: PrepareOptions(threads: 2))
        XCTAssertNoThrow(try ShardedCorpus.open(directory: dir, tokenizer: nil))
        XCTAssertThrowsError(try ShardedCorpus.open(directory: dir, tokenizer: other)) { e in
            guard case ShardError.tokenizerMismatch? = e as? ShardError else { return XCTFail("\(e)") }
        }
        XCTAssertThrowsError(try Shard(path: dir.appendingPathComponent("shard-00000.bin").path, tokenizer: other))
        XCTAssertThrowsError(try ShardedCorpus.open(directory: dir.appendingPathComponent("nothing"), tokenizer: nil)) { e in
            guard case ShardError.badManifest? = e as? ShardError else { return XCTFail("\(e)") }
        }
    }

    func testPrepareCorpusFromFilesAndEmptyInput() throws {
        let tok = try trainTokenizer(kind: .bpe, lines: Self.lines, options: TrainerOptions(vocabSize: 300, minFrequency: 1))
        let dir = try temporaryFolder()
        let f = dir.appendingPathComponent("c.txt")
        try Data((Self.lines.joined(separator: "\n") + "\n\n" + Self.lines[0] + "\n").utf8).write(to: f)
        let out = dir.appendingPathComponent("shards")
        let s = try prepareCorpus(files: [f.path], format: .text, tokenizer: tok, output: out)
        XCTAssertEqual(s.documents, 2)
        XCTAssertEqual(s.sentences, 6)
        XCTAssertEqual(s.corpus?.documents, 2)
        XCTAssertEqual(s.shards, ["shard-00000.bin"])
        let m = try ShardManifest.read(from: out.appendingPathComponent("manifest.json"))
        XCTAssertEqual(m.tokens, s.tokens)
        XCTAssertEqual(m.tokenizerChecksum, tokenizerChecksum(tok))
        let empty = dir.appendingPathComponent("e.txt")
        try Data("\n\n".utf8).write(to: empty)
        XCTAssertThrowsError(try prepareCorpus(files: [empty.path], format: .text, tokenizer: tok, output: out)) { e in
            guard case CorpusError.emptyCorpus? = e as? CorpusError else { return XCTFail("\(e)") }
        }
    }
}
