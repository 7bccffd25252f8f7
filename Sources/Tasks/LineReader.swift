import Foundation

/// Reads a UTF-8 file line by line in 64 KiB chunks, so a loader never holds the whole file.
/// Lines split on "\n"; a trailing "\r" (CRLF files) and a leading byte-order mark are dropped.
struct LineReader {
    let path: String
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false
    /// 1-based number of the line last returned.
    private(set) var lineNumber = 0

    init(path: String) throws {
        self.path = path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else {
            throw TaskDataError.unreadableFile(path: path, reason: "no such file")
        }
        guard let h = FileHandle(forReadingAtPath: path) else { throw TaskDataError.unreadableFile(path: path, reason: "permission denied") }
        handle = h
    }

    /// The next line, or nil at the end of the file.
    mutating func next() throws -> String? {
        while true {
            if let nl = buffer[start...].firstIndex(of: 10) {
                let line = try decode(buffer[start..<nl])
                start = nl + 1
                return line
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                let line = try decode(buffer[start...])
                start = buffer.count
                return line
            }
            buffer.removeFirst(start)
            start = 0
            let chunk = handle.readData(ofLength: 1 << 16)
            if chunk.isEmpty { atEnd = true; try? handle.close() } else { buffer.append(contentsOf: chunk) }
        }
    }

    private mutating func decode(_ bytes: ArraySlice<UInt8>) throws -> String {
        lineNumber += 1
        var b = bytes
        if lineNumber == 1, b.starts(with: [0xEF, 0xBB, 0xBF]) { b = b.dropFirst(3) }
        if b.last == 13 { b = b.dropLast() }
        guard let s = String(validating: b, as: UTF8.self) else {
            throw TaskDataError.malformedRow(path: path, line: lineNumber, problem: "invalid UTF-8", fix: "re-save the file as UTF-8")
        }
        return s
    }
}

/// Reads a whole UTF-8 file (for formats that are one JSON document).
func readUTF8File(_ path: String) throws -> [UInt8] {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue,
          let d = FileManager.default.contents(atPath: path) else {
        throw TaskDataError.unreadableFile(path: path, reason: "no such file")
    }
    var b = [UInt8](d)
    if b.starts(with: [0xEF, 0xBB, 0xBF]) { b.removeFirst(3) }
    return b
}

/// 1-based line of byte `offset` in `bytes`.
func lineNumber(ofByte offset: Int, in bytes: [UInt8]) -> Int {
    var n = 1
    for i in 0..<min(offset, bytes.count) where bytes[i] == 10 { n += 1 }
    return n
}

/// 1-based line of the first occurrence of `needle` at or after byte `from` (1 when absent):
/// JSON values carry no positions, so errors about a SQuAD/RACE record point at its id.
func lineNumber(of needle: String, in bytes: [UInt8], from: Int = 0) -> Int {
    let n = Array(needle.utf8)
    guard !n.isEmpty, bytes.count >= n.count else { return 1 }
    var i = from
    while i + n.count <= bytes.count {
        if bytes[i] == n[0], bytes[i..<(i + n.count)].elementsEqual(n) { return lineNumber(ofByte: i, in: bytes) }
        i += 1
    }
    return 1
}
