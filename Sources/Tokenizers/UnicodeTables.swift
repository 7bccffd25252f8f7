import Foundation

/// Precomputed Unicode property flags, looked up per scalar value (never per `Character`).
enum UnicodeFlags {
    static let whitespace: UInt16 = 1       // White_Space
    static let letter: UInt16 = 2           // L*
    static let number: UInt16 = 4           // N*
    static let punctuation: UInt16 = 8      // P*
    static let other: UInt16 = 16           // Cc, Cf, Co, Cs (not Cn)
    static let nonspacingMark: UInt16 = 32  // Mn
    static let mark: UInt16 = 64            // M*
    static let alphabetic: UInt16 = 128     // Alphabetic
    static let decimalDigit: UInt16 = 256   // Nd
    static let connectorPunct: UInt16 = 512 // Pc

    /// Flags for the Basic Multilingual Plane, computed once (never freed; raw memory so that
    /// lookups from several threads do no reference counting).
    nonisolated(unsafe) static let bmp: UnsafeMutablePointer<UInt16> = {
        let t = UnsafeMutablePointer<UInt16>.allocate(capacity: 0x10000)
        for v in 0..<0x10000 { t[v] = compute(UInt32(v)) }
        return t
    }()

    static func compute(_ v: UInt32) -> UInt16 {
        guard let s = Unicode.Scalar(v) else { return other }  // surrogates (Cs)
        let p = s.properties
        var f: UInt16 = 0
        if p.isWhitespace { f |= whitespace }
        if p.isAlphabetic { f |= alphabetic }
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: f |= letter
        case .decimalNumber: f |= number | decimalDigit
        case .letterNumber, .otherNumber: f |= number
        case .connectorPunctuation: f |= punctuation | connectorPunct
        case .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation, .finalPunctuation, .otherPunctuation:
            f |= punctuation
        case .control, .format, .privateUse, .surrogate: f |= other  // not Cn, as Rust's unicode_categories
        case .nonspacingMark: f |= mark | nonspacingMark
        case .spacingMark, .enclosingMark: f |= mark
        default: break
        }
        return f
    }

    @inline(__always) static func flags(_ v: UInt32) -> UInt16 {
        v < 0x10000 ? bmp[Int(v)] : compute(v)
    }
}

@inline(__always) func isWhitespace(_ c: UInt32) -> Bool {
    if c < 128 { return c == 32 || (c >= 9 && c <= 13) }
    return UnicodeFlags.flags(c) & UnicodeFlags.whitespace != 0
}
@inline(__always) func isLetter(_ c: UInt32) -> Bool { UnicodeFlags.flags(c) & UnicodeFlags.letter != 0 }
@inline(__always) func isNumber(_ c: UInt32) -> Bool { UnicodeFlags.flags(c) & UnicodeFlags.number != 0 }
/// Rust `char::is_ascii_punctuation() || unicode is_punctuation()` (the BERT definition).
@inline(__always) func isBertPunctuation(_ c: UInt32) -> Bool {
    if c < 128 {
        return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)
    }
    return UnicodeFlags.flags(c) & UnicodeFlags.punctuation != 0
}
/// Regex `\w` (Unicode): alphabetic, marks, decimal digits, connector punctuation, joiners.
@inline(__always) func isWordCharacter(_ c: UInt32) -> Bool {
    if c < 128 {
        return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95
    }
    if c == 0x200C || c == 0x200D { return true }
    let f = UnicodeFlags.flags(c)
    return f & (UnicodeFlags.alphabetic | UnicodeFlags.mark | UnicodeFlags.decimalDigit | UnicodeFlags.connectorPunct) != 0
}
/// Rust `char::is_alphanumeric` (Alphabetic or Numeric).
@inline(__always) func isAlphanumeric(_ c: UInt32) -> Bool {
    if c < 128 { return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }
    return UnicodeFlags.flags(c) & (UnicodeFlags.alphabetic | UnicodeFlags.number) != 0
}

/// The CJK ideograph ranges that BERT surrounds with spaces.
@inline(__always) func isChineseChar(_ c: UInt32) -> Bool {
    switch c {
    case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
         0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
        return true
    default: return false
    }
}

/// Unicode normalization forms.
public enum NormalizationForm: String, Sendable {
    case nfc = "NFC", nfd = "NFD", nfkc = "NFKC", nfkd = "NFKD"
}

enum UnicodeNormalization {
    /// Decomposition of one scalar (canonical or compatibility) as scalar values.
    static func decompose(_ c: UInt32, compatibility: Bool) -> [UInt32] {
        if c < 0xA0 { return [c] }
        // Hangul syllables: algorithmic.
        if c >= 0xAC00 && c <= 0xD7A3 {
            let s = c - 0xAC00
            let l = 0x1100 + s / 588, v = 0x1161 + (s % 588) / 28, t = s % 28
            return t == 0 ? [l, v] : [l, v, 0x11A7 + t]
        }
        guard let scalar = Unicode.Scalar(c) else { return [c] }
        let s = String(Character(scalar))
        let d = compatibility ? s.decomposedStringWithCompatibilityMapping : s.decomposedStringWithCanonicalMapping
        return d.unicodeScalars.map(\.value)
    }

    static func compose(_ scalars: [UInt32], compatibility: Bool) -> [UInt32] {
        var s = String.UnicodeScalarView()
        for c in scalars { if let u = Unicode.Scalar(c) { s.append(u) } }
        let str = String(s)
        let r = compatibility ? str.precomposedStringWithCompatibilityMapping : str.precomposedStringWithCanonicalMapping
        return r.unicodeScalars.map(\.value)
    }

    @inline(__always) static func combiningClass(_ c: UInt32) -> UInt8 {
        if c < 0x300 { return 0 }
        return Unicode.Scalar(c).map { $0.properties.canonicalCombiningClass.rawValue } ?? 0
    }
}
