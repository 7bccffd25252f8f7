import Foundation
import SafeTensors

extension SafeTensorsFile: TensorReader {
    public var tensorNames: [String] { names }
    public func shape(of name: String) throws -> [Int] { try info(name).shape }
    public func read(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws {
        try copyFloats(name, into: destination)
    }
}

/// The files of a Hugging Face model folder.
public enum ModelFolder {
    /// `folder/config.json` and `folder/model.safetensors`, after checking both exist; a folder
    /// with only PyTorch's `pytorch_model.bin` is told to convert it (``ModelError/needsConversion(folder:)``).
    public static func files(in folder: URL) throws -> (config: URL, weights: URL) {
        let config = folder.appendingPathComponent("config.json"), weights = folder.appendingPathComponent("model.safetensors")
        let exists = { (url: URL) in FileManager.default.fileExists(atPath: url.path) }
        if !exists(weights) && exists(folder.appendingPathComponent("pytorch_model.bin")) {
            throw ModelError.needsConversion(folder: folder.path)
        }
        for url in [config, weights] where !exists(url) { throw ModelError.missingFile(url.path) }
        return (config, weights)
    }
}

extension PretrainingModel {
    /// Loads a Hugging Face model folder (config.json + model.safetensors). The heads come from
    /// `architectures` unless `heads` is given; loading is strict unless `strict` is false.
    public static func load(folder: URL, heads: HeadSet? = nil, strict: Bool = true) throws -> PretrainingModel {
        let (configURL, weightsURL) = try ModelFolder.files(in: folder)
        let file = try ConfigFile.load(from: configURL)
        let chosen = heads ?? ArchitectureName.heads(for: file.architectures.first ?? "")
        let model = try PretrainingModel(config: file.encoder, heads: chosen, seed: 0)
        let weights = try SafeTensorsFile(contentsOf: weightsURL)
        try Checkpoint.load(model.parameters, family: file.encoder.family, from: weights, file: weightsURL.path, strict: strict)
        return model
    }

    /// Writes config.json and model.safetensors (Hugging Face names, tied decoder stored once,
    /// both files written atomically) into `folder`, creating it. Parameters whose names start
    /// with `strippingPrefix` (a second network's names in a joint checkpoint, e.g. ELECTRA's
    /// `generator.`) are written without it.
    public func save(folder: URL, extras: [String: JSONValue] = [:], strippingPrefix prefix: String? = nil) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var writer = SafeTensorsWriter()
        let params = parameters
        try Checkpoint.add(params, family: config.family, to: &writer) { p in
            prefix.map { p.name.hasPrefix($0) ? String(p.name.dropFirst($0.count)) : p.name } ?? p.name
        }
        try withExtendedLifetime(params) {
            try writer.write(to: folder.appendingPathComponent("model.safetensors"))
        }
        try ConfigFile(encoder: config, architectures: [architecture], extras: extras).write(to: folder.appendingPathComponent("config.json"))
    }
}
