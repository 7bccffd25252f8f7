// libFuzzer target: a safetensors file from arbitrary bytes — open, validate, read every tensor.
import Foundation

private let path = "/dev/shm/fuzz-safetensors-\(getpid()).safetensors"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size)) else { return 0 }
    guard let file = try? SafeTensorsFile(contentsOf: URL(fileURLWithPath: path)) else { return 0 }
    for name in file.names { _ = try? file.floats(name) }
    return 0
}
