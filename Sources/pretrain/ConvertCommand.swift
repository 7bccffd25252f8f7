import ArgumentParser
import Foundation
import PyTorchFiles
import SafeTensors

/// `pretrain convert`: a folder's legacy pytorch_model.bin → model.safetensors.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a model folder's pytorch_model.bin (torch.save's zip + pickle) to model.safetensors, never running the pickle.")

    @Argument(help: "A model folder holding pytorch_model.bin, or a .bin file.") var source: String
    @Option(help: "Store floating-point tensors as f32, f16 or bf16 (default: as they are).") var dtype: OutputDType?
    @Option(help: "The safetensors file to write (default: model.safetensors beside the input).") var output: String?
    @Flag(help: "Replace the output file if it exists.") var force = false

    enum OutputDType: String, ExpressibleByArgument, CaseIterable {
        case f32, f16, bf16
        var safeTensors: SafeTensorsDType {
            switch self {
            case .f32: return .f32
            case .f16: return .f16
            case .bf16: return .bf16
            }
        }
    }

    func run() throws {
        try reportingErrors {
            let done = try PyTorchStateDict.convert(URL(fileURLWithPath: source), dtype: dtype?.safeTensors,
                                                    output: output.map { URL(fileURLWithPath: $0) }, overwrite: force)
            let tied = done.aliases.map { "\($0.name) = \($0.sameAs)" }
            print(String(format: "%@ → %@: %d tensors, %.2f MB → %.2f MB", done.input.path, done.output.path, done.tensorCount,
                         Double(done.inputBytes) / 1e6, Double(done.outputBytes) / 1e6)
                  + (tied.isEmpty ? "" : "; tied, stored once: " + tied.joined(separator: ", ")))
        }
    }
}
