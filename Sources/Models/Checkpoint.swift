import Foundation
import SafeTensors

/// Named Float32 tensors read from a checkpoint (safetensors; anything else that can list names,
/// shapes and copy values).
public protocol TensorReader {
    /// Every tensor name in the checkpoint.
    var tensorNames: [String] { get }
    /// The shape of a tensor.
    func shape(of name: String) throws -> [Int]
    /// Copies a tensor's values, converted to Float32, into `destination` (exactly its count).
    func read(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws
}

/// Loading and saving model weights under Hugging Face's parameter names.
public enum Checkpoint {
    /// Keys Hugging Face stores that are not parameters here: computed buffers, and the tied
    /// decoder weights (the token-embedding table is the decoder).
    /// GPT-2 files from before transformers 4.x also hold each layer's causal-mask buffers
    /// (`attn.bias`, `attn.masked_bias`).
    static func isIgnorable(_ key: String, family: EncoderConfiguration.Family) -> Bool {
        if key.hasSuffix(".position_ids") || key.hasSuffix("embeddings.token_type_ids")
            || MaskedLMHead.Names.tiedDecoderKeys(family).contains(key) { return true }
        return family == .gpt2 && (key.hasSuffix(".attn.bias") || key.hasSuffix(".attn.masked_bias"))
    }

    /// The shape parameter `p` has in a file of `layout` (a `Conv1D` weight's is transposed).
    static func fileShape(_ p: Parameter, _ layout: CheckpointLayout) -> [Int] {
        layout.storesTransposed(p.name) ? p.shape.reversed() : p.shape
    }

    /// Adds `parameters` to `writer` under their names (less `strippingPrefix`), in the family's
    /// file layout: as Hugging Face stores them, `Conv1D` weights transposed (into arrays the
    /// writer keeps; the others are read from the parameters, which must outlive the write).
    /// A parameter holding NaN or infinity is refused (``ModelError/nonFiniteWeightsToSave(name:index:)``):
    /// a broken model is never written, as it would never load.
    public static func add(_ parameters: [Parameter], family: EncoderConfiguration.Family, to writer: inout SafeTensorsWriter,
                           name: (Parameter) -> String = { $0.name }) throws {
        let layout = CheckpointLayout.of(family)
        for p in parameters {
            if let index = p.value.firstNonFiniteIndex { throw ModelError.nonFiniteWeightsToSave(name: name(p), index: index) }
            if layout.storesTransposed(p.name) {
                let t = p.value.transposed2D()
                try writer.add(name(p), shape: t.shape, values: t.scalars)
            } else {
                try writer.add(name(p), shape: p.shape, values: UnsafeBufferPointer(start: p.value.data, count: p.value.count))
            }
        }
    }

    /// The file key that holds parameter `name`: the same name, or — as transformers does
    /// between base and task models — the name with the base prefix removed or added, and the
    /// old TensorFlow-era `gamma`/`beta` LayerNorm names.
    static func candidates(for name: String, basePrefix: String) -> [String] {
        var out = [name]
        let prefix = basePrefix + "."
        if name.hasPrefix(prefix) { out.append(String(name.dropFirst(prefix.count))) } else { out.append(prefix + name) }
        for key in out where key.hasSuffix("LayerNorm.weight") || key.hasSuffix("LayerNorm.bias") {
            out.append(key.hasSuffix(".weight") ? String(key.dropLast(6)) + "gamma" : String(key.dropLast(4)) + "beta")
        }
        return out
    }

    /// What a non-strict load left out.
    public struct LoadReport: Equatable {
        /// Parameters the file lacks (they keep their initial values).
        public var missing: [String]
        /// File tensors the model does not use.
        public var unexpected: [String]
    }

    /// Copies every parameter from `reader`. Strict by default: any parameter the file lacks, or
    /// any file tensor the model does not use, is an error listing them all; non-strict loads
    /// what matches and reports the rest. A shape mismatch is always an error.
    @discardableResult
    public static func load(_ parameters: [Parameter], family: EncoderConfiguration.Family, from reader: TensorReader,
                            file: String, strict: Bool = true) throws -> LoadReport {
        let available = Set(reader.tensorNames)
        let layout = CheckpointLayout.of(family)
        let basePrefix = layout.basePrefix
        var used = Set<String>()
        var missing: [String] = []
        for p in parameters {
            guard let key = candidates(for: p.name, basePrefix: basePrefix).first(where: available.contains) else {
                missing.append(p.name)
                continue
            }
            let shape = try reader.shape(of: key)
            guard shape == fileShape(p, layout) else {
                throw ModelError.tensorShapeMismatch(name: key, expected: fileShape(p, layout), found: shape, file: file)
            }
            used.insert(key)
        }
        let unexpected = available.subtracting(used).filter { !isIgnorable($0, family: family) }.sorted()
        if strict && (!missing.isEmpty || !unexpected.isEmpty) {
            throw ModelError.missingAndUnexpectedKeys(missing: missing, unexpected: unexpected, file: file)
        }
        for p in parameters {
            guard let key = candidates(for: p.name, basePrefix: basePrefix).first(where: available.contains) else { continue }
            let value = Tensor(uninitialized: fileShape(p, layout))
            try reader.read(key, into: UnsafeMutableBufferPointer(start: value.data, count: value.count))
            if let index = value.firstNonFiniteIndex {
                throw ModelError.nonFiniteWeights(name: key, index: index, file: file)
            }
            p.load(layout.storesTransposed(p.name) ? value.transposed2D() : value)
        }
        return LoadReport(missing: missing, unexpected: unexpected)
    }
}
