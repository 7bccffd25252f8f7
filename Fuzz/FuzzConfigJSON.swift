// libFuzzer target: a config.json from arbitrary bytes, parsed and written back.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfigJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let file = try? ConfigFile.parse(Data(bytes: data, count: size)) else { return 0 }
    _ = try? ConfigFile.parse(ConfigFile(encoder: file.encoder, architectures: file.architectures).data())
    _ = file.encoder.electraGenerator()
    return 0
}
