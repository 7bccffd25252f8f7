/// A string being normalized, as Unicode scalar values, each aligned to the range of input
/// scalars it came from (so offsets map back to the original text, in scalar indices).
public struct NormalizedString: Sendable {
    /// The current (normalized) scalar values.
    public var scalars: [UInt32]
    /// For each current scalar, the start of its range in the original input (scalar index).
    public var starts: [Int32]
    /// For each current scalar, the end of its range in the original input (scalar index).
    public var ends: [Int32]

    /// Wraps original text given as scalar values, `offset` added to every alignment.
    public init(scalars: [UInt32], offset: Int = 0) {
        self.scalars = scalars
        let n = scalars.count
        starts = [Int32](unsafeUninitializedCapacity: n) { buf, c in
            for i in 0..<n { buf[i] = Int32(offset + i) }
            c = n
        }
        ends = [Int32](unsafeUninitializedCapacity: n) { buf, c in
            for i in 0..<n { buf[i] = Int32(offset + i + 1) }
            c = n
        }
    }

    /// Wraps a Swift string (iterated by unicode scalars).
    public init(_ text: String) { self.init(scalars: text.unicodeScalars.map(\.value)) }

    init(scalars: [UInt32], starts: [Int32], ends: [Int32]) {
        self.scalars = scalars
        self.starts = starts
        self.ends = ends
    }

    /// Number of normalized scalars.
    public var count: Int { scalars.count }
    /// True when nothing is left.
    public var isEmpty: Bool { scalars.isEmpty }

    /// The normalized text.
    public var string: String { scalarsToString(scalars[...]) }

    /// The sub-string `range` (normalized indices), keeping alignments.
    public func slice(_ range: Range<Int>) -> NormalizedString {
        NormalizedString(scalars: Array(scalars[range]), starts: Array(starts[range]), ends: Array(ends[range]))
    }

    /// Original range (scalar indices of the input) covered by normalized `range`.
    public func originalRange(_ range: Range<Int>) -> (Int, Int) {
        if range.isEmpty {
            if range.lowerBound < count { let s = Int(starts[range.lowerBound]); return (s, s) }
            if let e = ends.last { return (Int(e), Int(e)) }
            return (0, 0)
        }
        var lo = starts[range.lowerBound], hi = ends[range.lowerBound]
        for i in range.dropFirst() {
            if starts[i] < lo { lo = starts[i] }
            if ends[i] > hi { hi = ends[i] }
        }
        return (Int(lo), Int(hi))
    }

    /// Rebuilds the string through `body`, which appends scalars with a source index
    /// (the alignment of an old scalar) through the builder.
    mutating func rebuild(_ body: (inout Builder) -> Void) {
        var b = Builder(capacity: scalars.count)
        body(&b)
        scalars = b.scalars
        starts = b.starts
        ends = b.ends
    }

    struct Builder {
        var scalars: [UInt32] = []
        var starts: [Int32] = []
        var ends: [Int32] = []
        init(capacity: Int) {
            scalars.reserveCapacity(capacity)
            starts.reserveCapacity(capacity)
            ends.reserveCapacity(capacity)
        }
        @inline(__always) mutating func append(_ c: UInt32, _ s: Int32, _ e: Int32) {
            scalars.append(c)
            starts.append(s)
            ends.append(e)
        }
    }

    /// Replaces each scalar by zero or more scalars; all of them keep the source's alignment
    /// (Hugging Face's `transform` with changes 0 / +1 / removal).
    mutating func map(_ f: (UInt32, inout [UInt32]) -> Void) {
        let old = self
        var tmp: [UInt32] = []
        rebuild { b in
            for i in 0..<old.scalars.count {
                tmp.removeAll(keepingCapacity: true)
                f(old.scalars[i], &tmp)
                for c in tmp { b.append(c, old.starts[i], old.ends[i]) }
            }
        }
    }

    /// Keeps the scalars for which `keep` is true.
    mutating func filter(_ keep: (UInt32) -> Bool) {
        var j = 0
        for i in 0..<scalars.count where keep(scalars[i]) {
            scalars[j] = scalars[i]; starts[j] = starts[i]; ends[j] = ends[i]
            j += 1
        }
        scalars.removeLast(scalars.count - j)
        starts.removeLast(starts.count - j)
        ends.removeLast(ends.count - j)
    }

    /// Inserts `prefix` at the front; the new scalars take the alignment of the first scalar.
    mutating func prepend(_ prefix: [UInt32]) {
        guard !scalars.isEmpty else { return }
        let s = starts[0], e = ends[0]
        scalars.insert(contentsOf: prefix, at: 0)
        starts.insert(contentsOf: [Int32](repeating: s, count: prefix.count), at: 0)
        ends.insert(contentsOf: [Int32](repeating: e, count: prefix.count), at: 0)
    }

    /// Trims leading/trailing scalars matching `pred`.
    mutating func strip(left: Bool, right: Bool, _ pred: (UInt32) -> Bool) {
        var lo = 0, hi = scalars.count
        if left { while lo < hi, pred(scalars[lo]) { lo += 1 } }
        if right { while hi > lo, pred(scalars[hi - 1]) { hi -= 1 } }
        if lo != 0 || hi != scalars.count { self = slice(lo..<hi) }
    }

    /// Replaces every occurrence of `pattern` by `content`. Hugging Face alignment rule: the
    /// matched scalars are removed and the replacement is inserted after them, so every
    /// replacement scalar takes the alignment of the last matched scalar.
    mutating func replace(_ pattern: [UInt32], with content: [UInt32]) {
        guard !pattern.isEmpty, scalars.count >= pattern.count else { return }
        // Nothing to do unless the pattern occurs (the common case).
        let first = pattern[0]
        var any = false
        for i in 0...(scalars.count - pattern.count) where scalars[i] == first && scalars[i..<(i + pattern.count)].elementsEqual(pattern) {
            any = true
            break
        }
        if !any { return }
        let old = self
        let n = old.scalars.count, m = pattern.count
        rebuild { b in
            var i = 0
            while i < n {
                if i + m <= n, old.scalars[i] == pattern[0], Array(old.scalars[i..<(i + m)]) == pattern {
                    for c in content { b.append(c, old.starts[i + m - 1], old.ends[i + m - 1]) }
                    i += m
                } else {
                    b.append(old.scalars[i], old.starts[i], old.ends[i])
                    i += 1
                }
            }
        }
    }

    /// Applies a Unicode normalization form, keeping alignments as Hugging Face does:
    /// decomposed scalars share their source's alignment; a composed scalar takes the alignment
    /// of the first scalar it absorbed.
    mutating func normalize(_ form: NormalizationForm) {
        // ASCII is invariant under every form.
        if scalars.allSatisfy({ $0 < 0xA0 && $0 != 0 }) || scalars.allSatisfy({ $0 < 0x80 }) { return }
        let compat = form == .nfkc || form == .nfkd
        // 1. Decompose scalar by scalar.
        let old = self
        var b = Builder(capacity: count)
        for i in 0..<old.scalars.count {
            for c in UnicodeNormalization.decompose(old.scalars[i], compatibility: compat) {
                b.append(c, old.starts[i], old.ends[i])
            }
        }
        // 2. Canonical ordering of runs of non-starters (stable by combining class).
        var i = 0
        let n = b.scalars.count
        while i < n {
            if UnicodeNormalization.combiningClass(b.scalars[i]) == 0 { i += 1; continue }
            var j = i
            while j < n, UnicodeNormalization.combiningClass(b.scalars[j]) != 0 { j += 1 }
            if j - i > 1 {
                let idx = (i..<j).sorted {
                    let a = UnicodeNormalization.combiningClass(b.scalars[$0]), c = UnicodeNormalization.combiningClass(b.scalars[$1])
                    return a != c ? a < c : $0 < $1
                }
                let sc = idx.map { b.scalars[$0] }, ss = idx.map { b.starts[$0] }, se = idx.map { b.ends[$0] }
                b.scalars.replaceSubrange(i..<j, with: sc)
                b.starts.replaceSubrange(i..<j, with: ss)
                b.ends.replaceSubrange(i..<j, with: se)
            }
            i = j
        }
        if form == .nfd || form == .nfkd {
            scalars = b.scalars; starts = b.starts; ends = b.ends
            return
        }
        // 3. Compose segment by segment (a segment starts at a starter; Hangul jamo join).
        var out = Builder(capacity: b.scalars.count)
        var s = 0
        while s < n {
            var e = s + 1
            while e < n, UnicodeNormalization.combiningClass(b.scalars[e]) != 0 || isHangulJamoContinuation(b.scalars[e]) { e += 1 }
            if e - s == 1 || b.scalars[s..<e].allSatisfy({ $0 < 0x80 }) {
                for k in s..<e { out.append(b.scalars[k], b.starts[k], b.ends[k]) }
            } else {
                let composed = UnicodeNormalization.compose(Array(b.scalars[s..<e]), compatibility: false)
                if composed.count == e - s {
                    for (k, c) in composed.enumerated() { out.append(c, b.starts[s + k], b.ends[s + k]) }
                } else {
                    // Walk: each composed scalar absorbs as many decomposed scalars as its own
                    // canonical decomposition has.
                    var k = s
                    for c in composed {
                        let width = max(1, UnicodeNormalization.decompose(c, compatibility: false).count)
                        let src = min(k, e - 1)
                        out.append(c, b.starts[src], b.ends[src])
                        k += width
                    }
                }
            }
            s = e
        }
        scalars = out.scalars; starts = out.starts; ends = out.ends
    }
}

@inline(__always) func isHangulJamoContinuation(_ c: UInt32) -> Bool {
    (c >= 0x1161 && c <= 0x1175) || (c >= 0x11A8 && c <= 0x11C2)
}

/// Builds a Swift string from scalar values (invalid values become U+FFFD).
@inline(__always) func scalarsToString(_ s: ArraySlice<UInt32>) -> String {
    var v = String.UnicodeScalarView()
    for c in s { v.append(Unicode.Scalar(c) ?? "\u{FFFD}") }
    return String(v)
}

/// Scalar values of a Swift string.
@inline(__always) func stringScalars(_ s: String) -> [UInt32] { s.unicodeScalars.map(\.value) }
