// libFuzzer target: a pretraining shard from arbitrary bytes — open and validate it, then read
// every document, sentence, token id and word-start flag through the corpus interface; the same
// bytes as a shard folder's manifest.json.
import Foundation

private let path = "/dev/shm/fuzz-shard-\(getpid()).bin"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzShard(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size)) else { return 0 }
    _ = try? ShardManifest.read(from: URL(fileURLWithPath: path))
    guard let shard = try? Shard(path: path, expectedChecksum: nil) else { return 0 }
    var sum = 0
    for d in 0..<shard.documentCount {
        for s in shard.sentences(ofDocument: d) {
            let r = shard.tokens(ofSentence: s)
            sum &+= shard.tokenIDs(r).reduce(0) { $0 &+ Int($1) } &+ shard.wordStarts(r).filter { $0 }.count
        }
    }
    precondition(sum != Int.min)
    return 0
}
