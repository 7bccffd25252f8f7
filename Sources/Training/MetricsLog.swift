import Foundation

/// `metrics.jsonl` of a run: one JSON object per logged step (training) or evaluation
/// (`"split": "eval"`), keys sorted so identical runs give identical lines.
public final class MetricsLog {
    public let url: URL
    private let handle: FileHandle

    /// Opens (creating) the log; on resume, drops lines past `resumedStep` so a resumed run
    /// rewrites exactly the lines an uninterrupted one would have written.
    public init(url: URL, resumedStep: Int?) throws {
        self.url = url
        var kept = ""
        if let resumedStep, let text = try? String(contentsOf: url, encoding: .utf8) {
            for line in text.split(separator: "\n") {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let step = object["step"] as? Int else { continue }
                if step <= resumedStep { kept += line + "\n" }
            }
        }
        try Data(kept.utf8).write(to: url, options: .atomic)
        handle = try FileHandle(forWritingTo: url)
        handle.seekToEndOfFile()
    }

    deinit { try? handle.close() }

    /// Appends one line; a NaN or infinite number is written as `null` (JSON has no NaN), so the
    /// line is kept and says which value was not finite.
    public func append(_ record: [String: Any]) throws {
        let cleaned = record.mapValues { value -> Any in
            if let d = value as? Double, !d.isFinite { return NSNull() }
            if let f = value as? Float, !f.isFinite { return NSNull() }
            return value
        }
        guard let data = try? JSONSerialization.data(withJSONObject: cleaned, options: [.sortedKeys]) else { return }
        do {
            try handle.write(contentsOf: data + Data("\n".utf8))
        } catch {
            throw CheckpointError.unwritable(url.path, reason: error.localizedDescription)
        }
    }

    /// Every record in a metrics file.
    public static func read(_ url: URL) -> [[String: Any]] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }
}

/// The live progress line: rewritten in place on a terminal, an occasional plain line otherwise.
public struct ProgressLine {
    let isTerminal = isatty(STDERR_FILENO) != 0
    var lastPrint = 0.0

    public init() {}

    public mutating func update(step: Int, of total: Int, loss: Double, lr: Float, tokensPerSecond: Double, elapsed: Double) {
        let done = Double(step) / Double(max(1, total))
        let eta = done > 0 ? elapsed * (1 - done) / done : 0
        let text = String(format: "step %d/%d  loss %.4f  lr %.2e  %.1fk tok/s  elapsed %@  ETA %@",
                          step, total, loss, lr, tokensPerSecond / 1000, Self.clock(elapsed), Self.clock(eta))
        if isTerminal {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
        } else if elapsed - lastPrint >= 10 || step == total {
            lastPrint = elapsed
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }

    /// Ends the in-place line before other output.
    public func finishLine() { if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) } }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, s / 60 % 60) : String(format: "%dm%02ds", s / 60, s % 60)
    }
}
