import Foundation

/// SentencePiece's precompiled normalization map (tokenizer.json normalizer `Precompiled`): a
/// Darts double-array trie over UTF-8 bytes whose values index NUL-terminated replacements.
/// Applied grapheme by grapheme, exactly as Hugging Face `tokenizers` does (graphemes shorter than
/// 6 bytes are looked up whole, otherwise scalar by scalar). Graphemes come from Swift's
/// `Character` segmentation: this is the one place where the definition requires them.
public final class PrecompiledCharsmap: Sendable {
    /// The base64 text stored in tokenizer.json.
    public let base64: String
    let trie: [UInt32]
    let normalized: [UInt8]

    /// Decodes the base64 blob (empty → a map that changes nothing).
    public init(base64: String, path: String = "normalizer.precompiled_charsmap") throws {
        self.base64 = base64
        if base64.isEmpty { trie = []; normalized = []; return }
        guard let data = Data(base64Encoded: base64) else { throw TokenizerError.invalidField(path: path, reason: "not valid base64") }
        let b = [UInt8](data)
        guard b.count >= 4 else { throw TokenizerError.invalidField(path: path, reason: "too short for a charsmap") }
        let size = Int(UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24)
        guard size % 4 == 0, 4 + size <= b.count else { throw TokenizerError.invalidField(path: path, reason: "trie size \(size) exceeds the blob") }
        var t = [UInt32](repeating: 0, count: size / 4)
        for i in 0..<(size / 4) {
            let o = 4 + i * 4
            t[i] = UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
        }
        trie = t
        normalized = Array(b[(4 + size)...])
    }

    /// The replacement for `key` (UTF-8 bytes): first (shortest) prefix match, as spm_precompiled.
    func transform(_ key: [UInt8]) -> [UInt8]? {
        guard !trie.isEmpty else { return nil }
        @inline(__always) func offset(_ u: UInt32) -> Int { Int((u >> 10) << ((u & (1 << 9)) >> 6)) }
        @inline(__always) func label(_ u: UInt32) -> UInt32 { u & ((1 << 31) | 0xFF) }
        @inline(__always) func hasLeaf(_ u: UInt32) -> Bool { (u >> 8) & 1 == 1 }
        @inline(__always) func value(_ u: UInt32) -> Int { Int(u & ((1 << 31) - 1)) }
        var pos = 0
        guard pos < trie.count else { return nil }
        pos ^= offset(trie[pos])
        for c in key {
            if c == 0 { break }
            pos ^= Int(c)
            guard pos >= 0, pos < trie.count else { return nil }
            let u = trie[pos]
            if label(u) != UInt32(c) { return nil }
            pos ^= offset(u)
            guard pos >= 0, pos < trie.count else { return nil }
            if hasLeaf(u) {
                let start = value(trie[pos])
                guard start <= normalized.count else { return nil }
                var end = start
                while end < normalized.count, normalized[end] != 0 { end += 1 }
                return Array(normalized[start..<end])
            }
        }
        return nil
    }

    /// Normalizes in place with Hugging Face's alignment rules (replacement scalars take the
    /// replaced scalars' alignments in order; extra ones repeat the last; missing ones remove).
    func normalize(_ s: inout NormalizedString) {
        guard !trie.isEmpty, !s.isEmpty else { return }
        let old = s
        var b = NormalizedString.Builder(capacity: old.count)
        var modified = false
        func emit(_ range: Range<Int>, _ rep: [UInt8]) {
            let new = String(decoding: rep, as: UTF8.self).unicodeScalars.map(\.value)
            for (k, c) in new.enumerated() {
                let src = range.lowerBound + min(k, range.count - 1)
                b.append(c, old.starts[src], old.ends[src])
            }
        }
        var i = 0
        for ch in scalarsToString(old.scalars[...]) {
            let n = ch.unicodeScalars.count
            let range = i..<(i + n)
            i += n
            let bytes = Array(String(ch).utf8)
            if bytes.count < 6, let rep = transform(bytes) {
                modified = true
                emit(range, rep)
                continue
            }
            for k in range {
                var one: [UInt8] = []
                if let u = Unicode.Scalar(old.scalars[k]) { one = Array(String(u).utf8) }
                if let rep = transform(one) {
                    modified = true
                    emit(k..<(k + 1), rep)
                } else {
                    b.append(old.scalars[k], old.starts[k], old.ends[k])
                }
            }
        }
        if modified { s.scalars = b.scalars; s.starts = b.starts; s.ends = b.ends }
    }
}
