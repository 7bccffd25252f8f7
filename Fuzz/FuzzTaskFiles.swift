// libFuzzer target: one byte string read as every task-file format (TSV, CSV, JSONL, SQuAD, RACE,
// CoNLL). Built with the Tasks and Tokenizers sources in one module.
import Foundation

private let path = "/dev/shm/fuzz-task-\(getpid()).txt"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTaskFiles(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size)) else { return 0 }
    let columns = ColumnSelection(text: "sentence", pair: "sentence2", label: "label")
    for format in DelimitedFormat.allCases {
        _ = try? TaskLoaders.records(path: path, format: format)
        _ = try? TaskLoaders.classification(path: path, format: format, columns: columns)
    }
    _ = try? TaskLoaders.classificationJSONL(path: path, fields: columns)
    _ = try? TaskLoaders.race(path: path)
    _ = try? TaskLoaders.squad(path: path)
    _ = try? TaskLoaders.conll(path: path, tagColumn: 1)
    _ = try? TaskLoaders.wordTag(path: path)
    return 0
}
