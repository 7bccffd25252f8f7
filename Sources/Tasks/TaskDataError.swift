/// Why task data could not be read or built. Every case says where (file and 1-based line when
/// there is one) and what to do about it.
public enum TaskDataError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A file is missing or unreadable.
    case unreadableFile(path: String, reason: String)
    /// A row of a data file is malformed.
    case malformedRow(path: String, line: Int, problem: String, fix: String)
    /// A column or field named on the command line is not in the file.
    case missingColumn(path: String, line: Int, column: String, available: [String])
    /// A built-in task's source data is not installed.
    case missingSource(task: String, path: String, setup: String)
    /// No built-in task has this name.
    case unknownTask(name: String, known: [String])
    /// An external command (bible, diatheke) failed.
    case commandFailed(command: String, status: Int32, output: String)
    /// Arguments that cannot work together (e.g. a stride not below the window).
    case invalidArgument(String)

    /// The file the error is about, when there is one.
    public var path: String? {
        switch self {
        case let .unreadableFile(p, _), let .malformedRow(p, _, _, _), let .missingColumn(p, _, _, _), let .missingSource(_, p, _): return p
        default: return nil
        }
    }

    /// The 1-based line the error is about, when there is one.
    public var line: Int? {
        switch self {
        case let .malformedRow(_, l, _, _), let .missingColumn(_, l, _, _): return l
        default: return nil
        }
    }

    /// A message for people: file:line: problem; fix.
    public var description: String {
        switch self {
        case let .unreadableFile(p, r): return "\(p): cannot read: \(r)"
        case let .malformedRow(p, l, problem, fix): return "\(p):\(l): \(problem); \(fix)"
        case let .missingColumn(p, l, c, a):
            return "\(p):\(l): no column \"\(c)\" in the header (columns: \(a.joined(separator: ", "))); pass one of those names"
        case let .missingSource(t, p, s): return "task \(t): source data \(p) is not installed; \(s)"
        case let .unknownTask(n, k): return "no built-in task \"\(n)\"; built-in tasks: \(k.joined(separator: ", "))"
        case let .commandFailed(c, s, o): return "command `\(c)` failed with status \(s): \(o.prefix(500))"
        case let .invalidArgument(m): return m
        }
    }
}
