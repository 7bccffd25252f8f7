import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file written through a 1 MiB buffer to `path.tmp`, then fsynced and renamed over `path`, so
/// that a crash never leaves a half-written file under the real name.
final class AtomicFile {
    let path: String
    let temporaryPath: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private(set) var written = 0
    private var finished = false

    init(path: String) throws {
        self.path = path
        temporaryPath = path + ".tmp"
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw ShardError.cannotWrite(path: temporaryPath, reason: String(cString: strerror(errno))) }
        buffer.reserveCapacity(1 << 20)
    }

    deinit {
        if !finished {
            close(fd)
            unlink(temporaryPath)
        }
    }

    /// Appends bytes.
    func write<C: Collection>(_ bytes: C) throws where C.Element == UInt8 {
        buffer.append(contentsOf: bytes)
        written += bytes.count
        if buffer.count >= 1 << 20 { try flush() }
    }

    /// Appends an integer, little-endian.
    func write<T: FixedWidthInteger>(integer: T) throws {
        var v = integer.littleEndian
        try withUnsafeBytes(of: &v) { try write($0) }
    }

    private func flush() throws {
        var off = 0
        while off < buffer.count {
            let n = buffer.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + off, $0.count - off) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ShardError.cannotWrite(path: temporaryPath, reason: String(cString: strerror(errno)))
            }
            off += n
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Overwrites bytes already written at `offset` (e.g. a header whose counts are known last).
    func overwrite(_ bytes: [UInt8], at offset: Int) throws {
        try flush()
        let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
        guard n == bytes.count else { throw ShardError.cannotWrite(path: temporaryPath, reason: String(cString: strerror(errno))) }
    }

    /// Flushes, fsyncs and renames the file into place.
    func commit() throws {
        try flush()
        guard fsync(fd) == 0 else { throw ShardError.cannotWrite(path: temporaryPath, reason: String(cString: strerror(errno))) }
        close(fd)
        finished = true
        guard rename(temporaryPath, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporaryPath)
            throw ShardError.cannotWrite(path: path, reason: reason)
        }
    }
}

/// Writes documents as a plain-text corpus (one sentence per line, a blank line between
/// documents), atomically.
public final class TextCorpusWriter {
    private let file: AtomicFile
    private var first = true

    /// Starts writing `path` (as `path.tmp` until ``finish()``).
    public init(path: String) throws { file = try AtomicFile(path: path) }

    /// Appends one document; sentences must not contain newlines (they are replaced by spaces).
    public func write(document: [String]) throws {
        if !first { try file.write([10]) }
        first = false
        for s in document {
            if s.contains(where: \.isNewline) {
                try file.write(s.map { $0.isNewline ? " " : String($0) }.joined().utf8)
            } else {
                try file.write(s.utf8)
            }
            try file.write([10])
        }
    }

    /// Moves the file into place.
    public func finish() throws { try file.commit() }
}
