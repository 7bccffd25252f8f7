import Foundation

/// Unigram training (a simplified SentencePiece): frequent substrings of words (not crossing a
/// `▁` except at their start, at most 16 scalars) seed the vocabulary; EM rounds (forward-backward
/// expected counts, Bayesian digamma M-step, as SentencePiece) re-estimate log probabilities, and
/// pieces whose removal costs the least likelihood (Viterbi re-segmentation of the piece) are
/// pruned (25% per round) until the target size. Every character of the corpus is kept.
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
    /// Bayesian (digamma) M-step scores, as SentencePiece / `tokenizers`.
    func digammaScores(_ f: [Double]) -> [Double] {
        let total = digamma(f.reduce(0, +))
        return f.map { digamma($0) - total }
    }
    /// E-step: expected piece counts by forward-backward over each word's lattice.
    func emCounts(_ pieces: [[UInt32]], _ sc: [Double]) -> ([Double], Double) {
        var trie = ScalarTrie()
        for (i, p) in pieces.enumerated() { trie.insert(p, Int32(i)) }
        var counts = [Double](repeating: 0, count: pieces.count)
        var loglik = 0.0
        let unk = (sc.min() ?? 0) - 10
        @inline(__always) func lse(_ a: Double, _ b: Double) -> Double {
            if a == -.infinity { return b }
            if b == -.infinity { return a }
            return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b))
        }
        var alpha: [Double] = [], beta: [Double] = []
        var edges: [(Int32, Int32, Int32)] = []  // start, end, piece (-1 unknown)
        for (w, c) in words {
            let s = w.scalars
            let n = s.count
            if n == 0 { continue }
            edges.removeAll(keepingCapacity: true)
            for i in 0..<n {
                var node: Int32 = 0
                var j = i
                var single = false
                while j < n {
                    node = trie.child(node, s[j])
                    if node < 0 { break }
                    j += 1
                    let id = trie.values[Int(node)]
                    if id >= 0 { edges.append((Int32(i), Int32(j), id)); if j == i + 1 { single = true } }
                }
                if !single { edges.append((Int32(i), Int32(i + 1), -1)) }
            }
            alpha = [Double](repeating: -.infinity, count: n + 1)
            beta = [Double](repeating: -.infinity, count: n + 1)
            alpha[0] = 0
            beta[n] = 0
            for (a, b, id) in edges { alpha[Int(b)] = lse(alpha[Int(b)], alpha[Int(a)] + (id >= 0 ? sc[Int(id)] : unk)) }
            for (a, b, id) in edges.reversed() { beta[Int(a)] = lse(beta[Int(a)], beta[Int(b)] + (id >= 0 ? sc[Int(id)] : unk)) }
            let z = alpha[n]
            loglik += Double(c) * z
            for (a, b, id) in edges where id >= 0 {
                counts[Int(id)] += Double(c) * exp(alpha[Int(a)] + sc[Int(id)] + beta[Int(b)] - z)
            }
        }
        return (counts, loglik)
    }

    var sc = scores(freq)
    var round = 0
    while true {
        round += 1
        for _ in 0..<2 {
            let (counts, ll) = emCounts(pieces, sc)
            // Drop pieces expected fewer than 0.5 times (characters stay), Bayesian M-step.
            var np: [[UInt32]] = [], nf: [Double] = []
            for (i, p) in pieces.enumerated() where counts[i] >= 0.5 || isChar(p) {
                np.append(p); nf.append(max(counts[i], 0.5))
            }
            pieces = np; freq = nf
            sc = digammaScores(freq)
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
        sc = digammaScores(freq)
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

/// Digamma function (asymptotic series), as SentencePiece / `tokenizers`.
func digamma(_ x0: Double) -> Double {
    var x = x0
    var result = 0.0
    while x < 7 { result -= 1 / x; x += 1 }
    x -= 0.5
    let xx = 1 / x, xx2 = xx * xx, xx4 = xx2 * xx2
    result += log(x) + xx2 / 24 - 7.0 / 960 * xx4 + 31.0 / 8064 * xx4 * xx2 - 127.0 / 30720 * xx4 * xx4
    return result
}
