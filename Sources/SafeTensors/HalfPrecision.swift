/// IEEE binary16 ("half", F16) and bfloat16 (BF16) conversions by bit manipulation, without
/// branches so the array loops vectorise (`Float16` is unavailable on Intel Macs).
public enum HalfPrecision {
    /// Half bits → Float32, exact for every value (subnormals, ±0, ±∞; NaN stays NaN with its payload).
    @inlinable @inline(__always)
    public static func float(fromHalf h: UInt16) -> Float {
        // F. Giesen's half_to_float_fast: move exponent and mantissa into place, rebias, then fix
        // up ∞/NaN (exponent 31) and zero/subnormal (exponent 0) with selects.
        let bits = UInt32(h)
        let shifted = (bits & 0x7FFF) << 13
        let exponent = shifted & 0x0F80_0000
        let normal = shifted &+ (112 << 23)
        let infinite = normal &+ (112 << 23)
        // Subnormal: 2⁻¹⁴ · (1 + m/1024) − 2⁻¹⁴ = m · 2⁻²⁴, exact.
        let subnormal = (Float(bitPattern: normal &+ (1 << 23)) - Float(bitPattern: 113 << 23)).bitPattern
        let magnitude = exponent == 0x0F80_0000 ? infinite : (exponent == 0 ? subnormal : normal)
        return Float(bitPattern: magnitude | (bits & 0x8000) << 16)
    }

    /// Float32 → half bits, rounding to nearest even (as PyTorch's `.to(torch.float16)`);
    /// overflow gives ±∞; NaN gives a quiet NaN with the sign kept.
    @inlinable @inline(__always)
    public static func half(fromFloat value: Float) -> UInt16 {
        // F. Giesen's float_to_half_fast3_rtne, with selects instead of branches.
        let bits = value.bitPattern
        let sign = bits & 0x8000_0000
        let magnitude = bits ^ sign
        // ≥ 65536 (already past the largest half after rounding): ∞ or NaN.
        let special: UInt32 = magnitude > 0x7F80_0000 ? 0x7E00 : 0x7C00
        // Below 2⁻¹⁴: the FPU's own round-to-nearest-even aligns the 10 mantissa bits at the bottom.
        let denormMagic: UInt32 = ((127 - 15) + (23 - 10) + 1) << 23
        let subnormal = (Float(bitPattern: magnitude) + Float(bitPattern: denormMagic)).bitPattern &- denormMagic
        // Normal: rebias the exponent and round on the 13 dropped bits (a carry bumps the exponent, up to ∞).
        let odd = (magnitude >> 13) & 1
        let normal = (magnitude &+ (UInt32(bitPattern: (15 - 127) << 23) &+ 0xFFF) &+ odd) >> 13
        let result = magnitude >= (143 << 23) ? special : (magnitude < (113 << 23) ? subnormal : normal)
        return UInt16(truncatingIfNeeded: result | sign >> 16)
    }

    /// BFloat16 bits → Float32 (exact: bfloat16 is the top half of a Float32).
    @inlinable @inline(__always)
    public static func float(fromBFloat16 b: UInt16) -> Float {
        Float(bitPattern: UInt32(b) << 16)
    }

    /// Float32 → bfloat16 bits, rounding to nearest even as PyTorch does (`(bits + 0x7FFF + lsb) >> 16`);
    /// NaN stays a quiet NaN with its sign and top payload bits.
    @inlinable @inline(__always)
    public static func bfloat16(fromFloat value: Float) -> UInt16 {
        let bits = value.bitPattern
        let rounded = (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16
        let nan = (bits >> 16) | 0x40
        return UInt16(truncatingIfNeeded: value.isNaN ? nan : rounded)
    }

    /// Widens `count` little-endian half values at `source` (any alignment) into `destination`.
    public static func widenHalves(_ source: UnsafeRawPointer, into destination: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            destination[i] = float(fromHalf: UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 &* i, as: UInt16.self)))
        }
    }

    /// Widens `count` little-endian bfloat16 values at `source` (any alignment) into `destination`.
    public static func widenBFloat16s(_ source: UnsafeRawPointer, into destination: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            destination[i] = float(fromBFloat16: UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 &* i, as: UInt16.self)))
        }
    }

    /// Narrows `count` Float32 values to little-endian half bits in `destination`.
    public static func narrowToHalves(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<UInt16>, count: Int) {
        for i in 0..<count { destination[i] = half(fromFloat: source[i]).littleEndian }
    }

    /// Narrows `count` Float32 values to little-endian bfloat16 bits in `destination`.
    public static func narrowToBFloat16s(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<UInt16>, count: Int) {
        for i in 0..<count { destination[i] = bfloat16(fromFloat: source[i]).littleEndian }
    }
}
