import Foundation

/// Unigram training (a simplified SentencePiece): frequent substrings of words (not crossing a
/// `▁` except at their start, at most 16 scalars) seed the vocabulary; hard-EM (Viterbi) rounds
/// re-estimate log probabilities, and pieces whose removal costs the least likelihood are pruned
/// (25% per round) until the target size. Every character of the corpus is kept.
func trainUnigram(words: [(WordKey, Int)], options: TrainerOptions, specials: [String], progress: Progress) throws -> [(String, Double)] {
    let maxPieceLength = 16
    let metaspace: UInt32 = 0x2581
    let target = options.vocabSize - specials.count
    // Characters (always kept).
    var charCount: [UInt32: Int] = [:]
    for (w, c) in words { for ch in w.scalars { charCount[ch, default: 0] += c } }
    var chars = charCount.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
    if let limit = options.limitAlphabet, chars.count > limit { chars = Array(chars.prefix(limit)) }
    let charSet = Set(chars.map(\.key))
    // Seeds: substrings by frequency × length, counted under a 64-bit FNV-1a hash of their
    // scalars (no allocation per substring); each hash keeps one occurrence to rebuild the piece.
    var index = IntTable(capacity: 1 << 20)
    var subCount: [Int] = [], subWord: [Int32] = [], subStart: [Int32] = [], subLen: [UInt8] = []
    for (wi, (w, c)) in words.enumerated() {
        let s = w.scalars
        let n = s.count
        if n < 2 || n > 256 { continue }
        for i in 0..<n {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            h = (h ^ UInt64(s[i])) &* 0x100_0000_01b3
            var j = i + 1
            while j < min(n, i + maxPieceLength) {
                if s[j] == metaspace { break }  // ▁ only at the start of a piece
                h = (h ^ UInt64(s[j])) &* 0x100_0000_01b3
                j += 1
                let key = h == UInt64.max ? h - 1 : h
                let k = index.get(key)
                if k >= 0 {
                    subCount[Int(k)] += c
                } else {
                    index.set(key, Int32(subCount.count))
                    subCount.append(c); subWord.append(Int32(wi)); subStart.append(Int32(i)); subLen.append(UInt8(j - i))
                }
            }
        }
    }
    let seedSize = max(target * 8, 20_000)
    var order = (0..<subCount.count).filter { subCount[$0] >= 2 }
    order.sort { a, b in
        let sa = subCount[a] * Int(subLen[a]), sb = subCount[b] * Int(subLen[b])
        return sa != sb ? sa > sb : a < b
    }
    if order.count > seedSize { order.removeLast(order.count - seedSize) }
    let seeds: [([UInt32], Int)] = order.map { k in
        let w = words[Int(subWord[k])].0.scalars
        let st = Int(subStart[k])
        return (Array(w[st..<(st + Int(subLen[k]))]), subCount[k])
    }
    index = IntTable()
    subCount = []; subWord = []; subStart = []; subLen = []
    var pieces: [[UInt32]] = chars.map { [$0.key] } + seeds.map(\.0)
    var freq: [Double] = chars.map { Double($0.value) } + seeds.map { Double($0.1) }
    let isChar = { (p: [UInt32]) in p.count == 1 && charSet.contains(p[0]) }
    progress.say("unigram: \(chars.count) characters, \(seeds.count) seed pieces")

    func scores(_ f: [Double]) -> [Double] {
        let total = f.reduce(0, +)
        return f.map { $0 > 0 ? log($0) - log(total) : -1e9 }
    }
    /// Viterbi counts of every piece over the corpus.
    func expectedCounts(_ pieces: [[UInt32]], _ sc: [Double]) -> ([Double], Double) {
        var trie = ScalarTrie()
        for (i, p) in pieces.enumerated() { trie.insert(p, Int32(i)) }
        var counts = [Double](repeating: 0, count: pieces.count)
        var loglik = 0.0
        for (w, c) in words {
            let s = w.scalars
            let n = s.count
            var best = [Double](repeating: -Double.infinity, count: n + 1)
            var back = [Int32](repeating: -1, count: n + 1)
            var from = [Int32](repeating: 0, count: n + 1)
            best[0] = 0
            for i in 0..<n where best[i] > -Double.infinity {
                var node: Int32 = 0
                var j = i
                while j < n {
                    node = trie.child(node, s[j])
                    if node < 0 { break }
                    j += 1
                    let id = trie.values[Int(node)]
                    if id >= 0, best[i] + sc[Int(id)] > best[j] { best[j] = best[i] + sc[Int(id)]; back[j] = id; from[j] = Int32(i) }
                }
                if back[i + 1] < 0 && best[i + 1] == -Double.infinity { best[i + 1] = best[i] - 30; from[i + 1] = Int32(i) }  // unknown char
            }
            loglik += Double(c) * best[n]
            var e = n
            while e > 0 {
                if back[e] >= 0 { counts[Int(back[e])] += Double(c) }
                e = Int(from[e])
            }
        }
        return (counts, loglik)
    }

    var sc = scores(freq)
    var round = 0
    while true {
        round += 1
        for _ in 0..<2 {
            let (counts, ll) = expectedCounts(pieces, sc)
            // Drop pieces never used (characters stay).
            var np: [[UInt32]] = [], nf: [Double] = []
            for (i, p) in pieces.enumerated() where counts[i] > 0 || isChar(p) {
                np.append(p); nf.append(max(counts[i], 0.5))
            }
            pieces = np; freq = nf
            sc = scores(freq)
            progress.say(String(format: "unigram round %d: %d pieces, log-likelihood %.1f", round, pieces.count, ll))
        }
        if pieces.count <= target { break }
        // Prune: loss of removing each piece = count × (its score − score of its best alternative split).
        let desired = max(target, Int(Double(pieces.count) * 0.75))
        var trie = ScalarTrie()
        for (i, p) in pieces.enumerated() { trie.insert(p, Int32(i)) }
        var loss = [Double](repeating: .infinity, count: pieces.count)
        for (i, p) in pieces.enumerated() where !isChar(p) {
            // Best split of p without p itself.
            let n = p.count
            var best = [Double](repeating: -Double.infinity, count: n + 1)
            best[0] = 0
            for a in 0..<n where best[a] > -Double.infinity {
                var node: Int32 = 0
                var j = a
                while j < n {
                    node = trie.child(node, p[j])
                    if node < 0 { break }
                    j += 1
                    let id = trie.values[Int(node)]
                    if id >= 0, Int(id) != i, best[a] + sc[Int(id)] > best[j] { best[j] = best[a] + sc[Int(id)] }
                }
            }
            loss[i] = freq[i] * (sc[i] - best[n])
        }
        let order = (0..<pieces.count).sorted { loss[$0] != loss[$1] ? loss[$0] > loss[$1] : $0 < $1 }
        let keep = Set(order.prefix(desired))
        var np: [[UInt32]] = [], nf: [Double] = []
        for i in 0..<pieces.count where keep.contains(i) || isChar(pieces[i]) { np.append(pieces[i]); nf.append(freq[i]) }
        pieces = np; freq = nf
        sc = scores(freq)
    }
    // Final: characters always, then best-scoring pieces, sorted by score (descending).
    var idx = Array(0..<pieces.count)
    idx.sort { sc[$0] != sc[$1] ? sc[$0] > sc[$1] : pieces[$0].lexicographicallyPrecedes(pieces[$1]) }
    let nChars = idx.filter { isChar(pieces[$0]) }.count
    var budget = max(0, target - nChars)
    var chosen: [Int] = []
    for i in idx {
        if isChar(pieces[i]) { chosen.append(i) } else if budget > 0 { chosen.append(i); budget -= 1 }
    }
    var out: [(String, Double)] = specials.map { ($0, 0.0) }
    var seen = Set(specials.map { WordKey(scalars: $0.unicodeScalars.map(\.value)) })
    for i in chosen where seen.insert(WordKey(scalars: pieces[i])).inserted {
        out.append((scalarsToString(pieces[i][...]), sc[i]))
    }
    return out
}
