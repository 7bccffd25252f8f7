import Foundation

/// Reading user text files: strict UTF-8 (invalid bytes are an error naming the file and offset).
public enum TextFiles {
    /// The bytes of a file.
    public static func bytes(_ path: String) throws -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else { throw TokenizerError.unreadableFile(path: path, reason: "no such file") }
        guard let d = FileManager.default.contents(atPath: path) else { throw TokenizerError.unreadableFile(path: path, reason: "cannot be read") }
        return [UInt8](d)
    }

    /// Offset of the first invalid UTF-8 byte, or nil.
    public static func firstInvalidUTF8(_ b: [UInt8]) -> Int? {
        var i = 0
        let n = b.count
        return b.withUnsafeBufferPointer { p -> Int? in
            while i < n {
                let c = p[i]
                if c < 0x80 { i += 1; continue }
                var need = 0
                var minV: UInt32 = 0
                var v: UInt32 = 0
                if c & 0xE0 == 0xC0 { need = 1; v = UInt32(c & 0x1F); minV = 0x80 }
                else if c & 0xF0 == 0xE0 { need = 2; v = UInt32(c & 0x0F); minV = 0x800 }
                else if c & 0xF8 == 0xF0 { need = 3; v = UInt32(c & 0x07); minV = 0x10000 }
                else { return i }
                if i + need >= n { return i }
                for k in 1...need {
                    let x = p[i + k]
                    if x & 0xC0 != 0x80 { return i }
                    v = v << 6 | UInt32(x & 0x3F)
                }
                if v < minV || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) { return i }
                i += need + 1
            }
            return nil
        }
    }

    /// The lines of a UTF-8 file, split on "\n" only (a trailing "\r" is kept: lines are taken
    /// literally). A final newline does not start an extra line. Throws on invalid UTF-8.
    public static func lines(_ path: String) throws -> [String] {
        let b = try bytes(path)
        if let bad = firstInvalidUTF8(b) { throw TokenizerError.invalidUTF8(path: path, offset: bad) }
        var out: [String] = []
        var start = 0
        b.withUnsafeBufferPointer { p in
            for i in 0..<p.count where p[i] == 10 {
                out.append(String(decoding: UnsafeBufferPointer(rebasing: p[start..<i]), as: UTF8.self))
                start = i + 1
            }
            if start < p.count { out.append(String(decoding: UnsafeBufferPointer(rebasing: p[start..<p.count]), as: UTF8.self)) }
        }
        return out
    }
}
