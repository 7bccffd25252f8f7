@_exported import ModelConfig
@_exported import Optimizers

/// Errors building, running, loading or saving a model. Each message says what to do next.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case unsupportedActivation(String)
    case invalidConfiguration(String)
    case sequenceTooLong(length: Int, maximum: Int)
    case tokenOutOfVocabulary(id: Int32, vocabSize: Int)
    case tokenTypeOutOfRange(id: Int32, typeVocabSize: Int)
    case inputShape(String)
    case missingAndUnexpectedKeys(missing: [String], unexpected: [String], file: String)
    case tensorShapeMismatch(name: String, expected: [Int], found: [Int], file: String)
    case missingFile(String)
    /// The folder has PyTorch's pytorch_model.bin but no model.safetensors.
    case needsConversion(folder: String)
    case nonFiniteWeights(name: String, index: Int, file: String)
    /// A model about to be saved holds NaN or infinity (nothing is written).
    case nonFiniteWeightsToSave(name: String, index: Int)

    public var description: String {
        switch self {
        case .unsupportedActivation(let name):
            return "hidden_act '\(name)' is not supported; use \"gelu\" or \"gelu_new\""
        case .invalidConfiguration(let why):
            return "invalid model configuration: \(why)"
        case .sequenceTooLong(let length, let maximum):
            return "a sequence of \(length) tokens is longer than the model's \(maximum) positions; truncate the input (max_position_embeddings)"
        case .tokenOutOfVocabulary(let id, let vocabSize):
            return "token id \(id) is outside the model's vocabulary of \(vocabSize); the tokenizer does not match the model (check vocab_size in config.json)"
        case .tokenTypeOutOfRange(let id, let typeVocabSize):
            return "token type id \(id) is outside the model's \(typeVocabSize) segment types (type_vocab_size)"
        case .inputShape(let why):
            return "bad model input: \(why)"
        case .missingAndUnexpectedKeys(let missing, let unexpected, let file):
            func list(_ keys: [String]) -> String { keys.prefix(12).joined(separator: ", ") + (keys.count > 12 ? ", … (\(keys.count) in all)" : "") }
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing keys: \(list(missing))") }
            if !unexpected.isEmpty { parts.append("unexpected keys: \(list(unexpected))") }
            return "\(file) does not match the model (\(parts.joined(separator: "; "))); check that config.json describes this checkpoint, or load non-strictly"
        case .tensorShapeMismatch(let name, let expected, let found, let file):
            return "\(file): tensor \(name) has shape \(found) but the model expects \(expected); config.json does not describe this checkpoint"
        case let .nonFiniteWeights(name, index, file):
            return "\(file): tensor \(name) holds NaN or infinity (element \(index)); the model is broken — use an earlier checkpoint or re-export it"
        case let .nonFiniteWeightsToSave(name, index):
            return "parameter \(name) holds NaN or infinity (element \(index)), so the model was not saved: the training that made it diverged. Lower lr (or raise the warm-up) and train again"
        case .missingFile(let path):
            return "\(path) not found; a model folder holds config.json and model.safetensors (and tokenizer.json)"
        case .needsConversion(let folder):
            return "\(folder) has pytorch_model.bin but no model.safetensors; PyTorch's pickle format is not loaded directly (unpickling can run code), so convert it once: pretrain convert \(folder)"
        }
    }
}
