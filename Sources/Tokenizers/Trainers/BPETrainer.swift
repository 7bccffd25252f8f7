import Foundation

/// Result of BPE training: vocabulary in id order and merges in rank order.
struct BPETrainingResult {
    var vocab: [String]
    var merges: [(String, String)]
}

/// A max-heap entry: highest count first, then the smallest pair (Hugging Face's order).
private struct MergeEntry {
    var count: Int
    var pair: UInt64
    var pos: [Int32]
    @inline(__always) static func before(_ a: MergeEntry, _ b: MergeEntry) -> Bool {
        a.count != b.count ? a.count > b.count : a.pair < b.pair
    }
}

private struct MergeHeap {
    var items: [MergeEntry] = []
    var isEmpty: Bool { items.isEmpty }
    mutating func push(_ e: MergeEntry) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if MergeEntry.before(items[i], items[p]) { items.swapAt(i, p); i = p } else { break }
        }
    }
    mutating func pop() -> MergeEntry? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var i = 0
        let n = items.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < n, MergeEntry.before(items[l], items[m]) { m = l }
            if r < n, MergeEntry.before(items[r], items[m]) { m = r }
            if m == i { break }
            items.swapAt(i, m); i = m
        }
        return top
    }
}

/// Hugging Face's BPE training (also used for WordPiece with `prefix` "##"): special tokens,
/// then the alphabet (sorted by code point), then prefixed characters in first-seen order, then
/// the most frequent pair is merged repeatedly (ties: smallest pair of ids) until `vocabSize`.
func trainBPE(words: [(WordKey, Int)], options: TrainerOptions, specials: [String], prefix: String?,
              initialAlphabet: [UInt32], progress: Progress) throws -> BPETrainingResult {
    var idToWord: [[UInt32]] = []
    var wordToID: [WordKey: Int32] = [:]
    @discardableResult func add(_ s: [UInt32]) -> Int32 {
        let k = WordKey(scalars: s)
        if let id = wordToID[k] { return id }
        let id = Int32(idToWord.count)
        idToWord.append(s)
        wordToID[k] = id
        return id
    }
    for s in specials { add(s.unicodeScalars.map(\.value)) }
    // Alphabet.
    var alphabet: [UInt32: Int] = [:]
    for (w, c) in words { for ch in w.scalars { alphabet[ch, default: 0] += c } }
    for ch in initialAlphabet { alphabet[ch] = Int.max }
    var kept = Array(alphabet)
    if let limit = options.limitAlphabet, alphabet.count > limit {
        kept.sort { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }
        kept.removeFirst(alphabet.count - limit)
    }
    kept.sort { $0.key < $1.key }
    for (ch, _) in kept { add([ch]) }
    let prefixScalars = prefix.map { Array($0.unicodeScalars.map(\.value)) } ?? []
    // Words as symbol ids.
    var symbols: [[Int32]] = []
    var counts: [Int] = []
    symbols.reserveCapacity(words.count)
    for (w, c) in words {
        var s: [Int32] = []
        s.reserveCapacity(w.scalars.count)
        for (i, ch) in w.scalars.enumerated() {
            guard wordToID[WordKey(scalars: [ch])] != nil else { continue }
            s.append(i > 0 && !prefixScalars.isEmpty ? add(prefixScalars + [ch]) : add([ch]))
        }
        symbols.append(s)
        counts.append(c)
    }
    progress.say("alphabet \(kept.count), initial vocabulary \(idToWord.count)")
    // Pair counts and positions.
    var pairCounts: [UInt64: Int] = [:]
    var whereToUpdate: [UInt64: [Int32]] = [:]
    for (wi, s) in symbols.enumerated() where s.count > 1 {
        for i in 0..<(s.count - 1) {
            let p = UInt64(UInt32(s[i])) << 32 | UInt64(UInt32(s[i + 1]))
            pairCounts[p, default: 0] += counts[wi]
            whereToUpdate[p, default: []].append(Int32(wi))
        }
    }
    var heap = MergeHeap()
    heap.items.reserveCapacity(whereToUpdate.count)
    for (p, pos) in whereToUpdate {
        let c = pairCounts[p] ?? 0
        if c > 0 { heap.push(MergeEntry(count: c, pair: p, pos: pos)) }
    }
    whereToUpdate.removeAll()
    var merges: [(Int32, Int32)] = []
    let target = options.vocabSize
    var lastReport = Date()
    while idToWord.count < target, var top = heap.pop() {
        let current = pairCounts[top.pair] ?? 0
        if top.count != current {
            top.count = current
            if current > 0 { heap.push(top) }
            continue
        }
        if top.count < 1 || options.minFrequency > top.count { break }
        let a = Int32(truncatingIfNeeded: top.pair >> 32), b = Int32(truncatingIfNeeded: top.pair & 0xFFFF_FFFF)
        var partB = idToWord[Int(b)]
        if !prefixScalars.isEmpty, partB.starts(with: prefixScalars) { partB.removeFirst(prefixScalars.count) }
        let newID = add(idToWord[Int(a)] + partB)
        merges.append((a, b))
        // Merge in every word containing the pair.
        var seen = Set<Int32>()
        for wi in top.pos where seen.insert(wi).inserted {
            var s = symbols[Int(wi)]
            let c = counts[Int(wi)]
            var i = 0
            var changed = false
            while i < s.count - 1 {
                if s[i] == a && s[i + 1] == b {
                    if i > 0 {
                        let old = UInt64(UInt32(s[i - 1])) << 32 | UInt64(UInt32(a))
                        pairCounts[old, default: 0] -= c
                        let nw = UInt64(UInt32(s[i - 1])) << 32 | UInt64(UInt32(newID))
                        pairCounts[nw, default: 0] += c
                        whereToUpdate[nw, default: []].append(wi)
                    }
                    s[i] = newID
                    s.remove(at: i + 1)
                    if i < s.count - 1 {
                        let old = UInt64(UInt32(b)) << 32 | UInt64(UInt32(s[i + 1]))
                        pairCounts[old, default: 0] -= c
                        let nw = UInt64(UInt32(newID)) << 32 | UInt64(UInt32(s[i + 1]))
                        pairCounts[nw, default: 0] += c
                        whereToUpdate[nw, default: []].append(wi)
                    }
                    changed = true
                }
                i += 1
            }
            if changed { symbols[Int(wi)] = s }
        }
        for (p, pos) in whereToUpdate {
            let cnt = pairCounts[p] ?? 0
            if cnt > 0 { heap.push(MergeEntry(count: cnt, pair: p, pos: pos)) }
        }
        whereToUpdate.removeAll(keepingCapacity: true)
        if progress.enabled, Date().timeIntervalSince(lastReport) > 2 {
            progress.say("merges \(merges.count), vocabulary \(idToWord.count)/\(target)")
            lastReport = Date()
        }
    }
    let vocab = idToWord.map { scalarsToString($0[...]) }
    return BPETrainingResult(vocab: vocab, merges: merges.map { (vocab[Int($0.0)], vocab[Int($0.1)]) })
}
