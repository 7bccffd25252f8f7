#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A seeded, reproducible random number generator (xoshiro256**), with the distributions the
/// engine needs: uniform, normal, Bernoulli (dropout) and categorical (ELECTRA's sampling).
///
/// Its whole state is four words (``state``), so a checkpoint can save and restore it exactly.
/// Independent streams for (seed, epoch, index)-style keys come from ``init(seed:stream:)``.
public struct RandomGenerator: RandomNumberGenerator, Sendable, Codable, Equatable {
    private var s0: UInt64 = 0, s1: UInt64 = 0, s2: UInt64 = 0, s3: UInt64 = 0

    /// The generator's complete state, four words (for checkpoints).
    public var state: [UInt64] {
        get { [s0, s1, s2, s3] }
        set {
            precondition(newValue.count == 4, "RandomGenerator: state must be 4 words")
            (s0, s1, s2, s3) = (newValue[0], newValue[1], newValue[2], newValue[3])
        }
    }

    public init(from decoder: Decoder) throws {
        let words = try [UInt64](from: decoder)
        guard words.count == 4, words != [0, 0, 0, 0] else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath,
                debugDescription: "RandomGenerator state must be four words, not all zero"))
        }
        state = words
    }

    public func encode(to encoder: Encoder) throws { try state.encode(to: encoder) }

    /// A generator seeded by SplitMix64 from `seed`.
    public init(seed: UInt64) {
        var mixer = seed
        s0 = RandomGenerator.splitMix(&mixer)
        s1 = RandomGenerator.splitMix(&mixer)
        s2 = RandomGenerator.splitMix(&mixer)
        s3 = RandomGenerator.splitMix(&mixer)
    }

    /// An independent stream for a key such as (seed, epoch, index): each key word is mixed in
    /// turn, so different keys give unrelated sequences.
    public init(seed: UInt64, stream: [UInt64]) {
        var mixer = seed
        var h = RandomGenerator.splitMix(&mixer)
        for word in stream {
            var m = h ^ (word &* 0x9E37_79B9_7F4A_7C15)
            h = RandomGenerator.splitMix(&m)
        }
        self.init(seed: h)
    }

    @inline(__always)
    static func splitMix(_ x: inout UInt64) -> UInt64 {
        x &+= 0x9E37_79B9_7F4A_7C15
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// The next 64 random bits.
    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = RandomGenerator.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = RandomGenerator.rotl(s3, 45)
        return result
    }

    /// Uniform in [0, 1) with 24 random bits.
    @inline(__always)
    public mutating func uniform() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Uniform in [0, 1) with 53 random bits.
    @inline(__always)
    public mutating func uniformDouble() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// A standard normal sample (Box–Muller, one of the pair; no hidden cached state).
    public mutating func normal() -> Float {
        let u1 = max(uniformDouble(), 0x1p-53)
        let u2 = uniformDouble()
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }

    /// True with probability `p`.
    @inline(__always)
    public mutating func bernoulli(_ p: Float) -> Bool { uniform() < p }

    /// An integer uniform in `0..<upperBound`.
    public mutating func integer(below upperBound: Int) -> Int {
        precondition(upperBound > 0, "RandomGenerator.integer(below:) needs a positive bound")
        return Int(next(upperBound: UInt64(upperBound)))
    }

    /// An index drawn with probability proportional to `weights[i]` (weights need not sum to 1).
    public mutating func categorical(_ weights: UnsafeBufferPointer<Float>) -> Int {
        var total: Double = 0
        for w in weights { total += Double(w) }
        precondition(total > 0, "RandomGenerator.categorical: weights sum to zero")
        let target = uniformDouble() * total
        var running: Double = 0
        for (i, w) in weights.enumerated() {
            running += Double(w)
            if target < running { return i }
        }
        // Rounding left target at the very top: return the last index of non-zero weight.
        return weights.lastIndex(where: { $0 > 0 }) ?? weights.count - 1
    }

    /// An index drawn with probability proportional to `weights[i]`.
    public mutating func categorical(_ weights: [Float]) -> Int {
        weights.withUnsafeBufferPointer { categorical($0) }
    }

    /// Fills `tensor` with samples from N(mean, std²).
    public mutating func fillNormal(_ tensor: Tensor, mean: Float = 0, std: Float = 1) {
        let p = tensor.data
        for i in 0..<tensor.count { p[i] = mean + std * normal() }
    }

    /// Fills `tensor` with samples from U[low, high).
    public mutating func fillUniform(_ tensor: Tensor, low: Float = 0, high: Float = 1) {
        let p = tensor.data
        for i in 0..<tensor.count { p[i] = low + (high - low) * uniform() }
    }
}
