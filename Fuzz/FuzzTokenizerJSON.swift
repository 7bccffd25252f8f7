// libFuzzer target: a tokenizer.json from arbitrary bytes, then encode / batch / decode with it.
// Built by scripts/fuzz.sh with the Tokenizers sources in one module (not a SwiftPM target).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizerJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let tokenizer = try? Tokenizer(jsonBytes: bytes) else { return 0 }
    _ = try? tokenizer.encode("Hello, wörld! 123 naïve café 😀 [MASK] <s> ##ing", pair: "a second segment",
                              truncation: .some(TruncationParams(maxLength: 16, stride: 4)), padding: .some(PaddingParams(strategy: .fixed(20))))
    _ = try? tokenizer.encodeBatch(["a b c", "", "\u{0}\u{FEFF} x"])
    _ = try? tokenizer.decode([0, 1, 2, 3, 5, 8, 13])
    return 0
}
