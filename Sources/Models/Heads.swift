/// The masked-LM head (Devlin et al. 2019, §3.1 Task #1): dense + activation + LayerNorm, then a
/// decoder tied to the input token embeddings with its own bias. It scores only the positions it
/// is given (the ~15% masked ones), never the whole sequence.
///
/// ALBERT's and ELECTRA's generator heads map H → E before the tied E×V decoder.
public final class MaskedLMHead: Module {
    public let dense: Linear
    public let norm: LayerNorm
    /// The output bias (V); the decoder weight is the tied token-embedding table.
    public let bias: Parameter
    public let decoderWeight: Parameter
    public let activation: Activation

    /// Checkpoint names of the head's parts, per family.
    public struct Names: Sendable {
        public let dense, norm, bias: String
        /// nil for GPT-2, which has no masked-LM head.
        public static func of(_ family: EncoderConfiguration.Family) -> Names? {
            switch family {
            case .bert: return Names(dense: "cls.predictions.transform.dense", norm: "cls.predictions.transform.LayerNorm", bias: "cls.predictions.bias")
            case .roberta: return Names(dense: "lm_head.dense", norm: "lm_head.layer_norm", bias: "lm_head.bias")
            case .albert: return Names(dense: "predictions.dense", norm: "predictions.LayerNorm", bias: "predictions.bias")
            case .electra: return Names(dense: "generator_predictions.dense", norm: "generator_predictions.LayerNorm", bias: "generator_lm_head.bias")
            case .distilbert: return Names(dense: "vocab_transform", norm: "vocab_layer_norm", bias: "vocab_projector.bias")
            case .gpt2: return nil
            }
        }
        /// Where Hugging Face's state dict keeps the tied decoder weight (not written to files).
        public static func tiedDecoderKeys(_ family: EncoderConfiguration.Family) -> [String] {
            switch family {
            case .bert: return ["cls.predictions.decoder.weight", "cls.predictions.decoder.bias"]
            case .roberta: return ["lm_head.decoder.weight", "lm_head.decoder.bias"]
            case .albert: return ["predictions.decoder.weight", "predictions.decoder.bias"]
            case .electra: return ["generator_lm_head.weight"]
            case .distilbert: return ["vocab_projector.weight"]
            case .gpt2: return ["lm_head.weight"]
            }
        }
    }

    public init(config: EncoderConfiguration, tiedTo embeddings: Embedding, rng: inout RandomGenerator) throws {
        guard let names = Names.of(config.family) else {
            throw ModelError.invalidConfiguration("\(config.family.rawValue) has no masked-LM head; it trains with the causal LM head (objective clm)")
        }
        let e = embeddings.weight.shape[1]
        dense = Linear(names.dense, inFeatures: config.hiddenSize, outFeatures: e, std: config.initializerRange, rng: &rng)
        norm = LayerNorm(names.norm, features: e, eps: config.layerNormEps)
        bias = Parameter(name: names.bias, value: Tensor(zeros: [config.vocabSize]))
        decoderWeight = embeddings.weight
        // RoBERTa's and ELECTRA's generator heads always use exact GELU; the others follow hidden_act.
        switch config.family {
        case .roberta, .electra: activation = .gelu
        case .bert, .albert, .distilbert, .gpt2:
            guard let a = Activation(huggingFaceName: config.hiddenAct) else { throw ModelError.unsupportedActivation(config.hiddenAct) }
            activation = a
        }
    }

    /// The head's own parameters (the tied decoder weight belongs to the embeddings).
    public var parameters: [Parameter] { dense.parameters + norm.parameters + [bias] }

    /// hidden (B,T,H), flat positions (M) into B·T → logits (M,V).
    public func callAsFunction(_ hidden: Variable, positions: [Int32], tape: Tape) throws -> Variable {
        tape.linear(try transform(hidden, positions: positions, tape: tape), weight: tape.parameter(decoderWeight), bias: tape.parameter(bias))
    }

    /// hidden (B,T,H) at flat `positions` → LayerNorm(act(dense(·))) (M,E), the decoder's input.
    func transform(_ hidden: Variable, positions: [Int32], tape: Tape) throws -> Variable {
        let flat = tape.reshape(hidden, [-1, hidden.shape.last!])
        let picked = try tape.gather(flat, indices: positions)
        return norm(activation(dense(picked, tape: tape), tape: tape), tape: tape)
    }

    /// The MLM loss Σ CE(logits at flat `positions` of `hidden`, targets) / normalizer and each
    /// row's argmax, through the fused decoder (``Tape/linearCrossEntropy(_:weight:bias:targets:normalizer:)``):
    /// the same value and gradients as cross-entropy on ``callAsFunction(_:positions:tape:)``,
    /// without keeping the (M,V) logits.
    public func loss(_ hidden: Variable, positions: [Int32], targets: [Int32], normalizer: Float? = nil,
                     tape: Tape) throws -> (loss: Variable, predictions: [Int32]) {
        tape.linearCrossEntropy(try transform(hidden, positions: positions, tape: tape), weight: tape.parameter(decoderWeight),
                                bias: tape.parameter(bias), targets: targets, normalizer: normalizer)
    }

    /// ``loss(_:positions:targets:normalizer:tape:)`` that also draws a token per row from the
    /// head's softmax at `temperature` (one uniform in [0, 1) per row; −1 for ignored rows), in
    /// the same pass over the logits: ELECTRA's generator samples, with no gradient through them.
    public func lossSampling(_ hidden: Variable, positions: [Int32], targets: [Int32], normalizer: Float? = nil,
                             uniforms: [Float], temperature: Float, tape: Tape) throws -> (loss: Variable, predictions: [Int32], samples: [Int32]) {
        tape.linearCrossEntropy(try transform(hidden, positions: positions, tape: tape), weight: tape.parameter(decoderWeight),
                                bias: tape.parameter(bias), targets: targets, normalizer: normalizer,
                                sampling: (uniforms, temperature))
    }

    /// Forward FLOPs at `rows` scored positions: transform (H·E) and decoder (E·V), 2 per multiply-add.
    public func forwardFLOPs(rows: Int) -> Double {
        Double(rows) * 2 * Double(dense.weight.shape[1] * dense.weight.shape[0] + decoderWeight.shape[0] * decoderWeight.shape[1])
    }
}

/// A two-way classifier on the pooled [CLS] vector: BERT's next-sentence prediction or ALBERT's
/// sentence-order prediction (Lan et al. 2020, §3.1). Label 1 = "random next" (NSP) or "swapped" (SOP).
public final class SentencePairHead: Module {
    public let classifier: Linear

    public init(config: EncoderConfiguration, rng: inout RandomGenerator) {
        let name = config.family == .albert ? "sop_classifier.classifier" : "cls.seq_relationship"
        classifier = Linear(name, inFeatures: config.hiddenSize, outFeatures: 2, std: config.initializerRange, rng: &rng)
    }

    public var parameters: [Parameter] { classifier.parameters }

    /// Forward FLOPs for `sequences` pooled vectors.
    public func forwardFLOPs(sequences: Int) -> Double { Double(sequences) * 2 * Double(classifier.weight.value.count) }

    /// pooled (B,H) → logits (B,2)
    public func callAsFunction(_ pooled: Variable, tape: Tape) -> Variable { classifier(pooled, tape: tape) }
}

/// ELECTRA's replaced-token-detection head (Clark et al. 2020, §2): dense + activation + dense(1),
/// one logit per token, "replaced" when positive.
public final class ReplacedTokenHead: Module {
    public let dense: Linear
    public let prediction: Linear
    public let activation: Activation

    public init(config: EncoderConfiguration, rng: inout RandomGenerator) throws {
        dense = Linear("discriminator_predictions.dense", inFeatures: config.hiddenSize, outFeatures: config.hiddenSize,
                       std: config.initializerRange, rng: &rng)
        prediction = Linear("discriminator_predictions.dense_prediction", inFeatures: config.hiddenSize, outFeatures: 1,
                            std: config.initializerRange, rng: &rng)
        guard let a = Activation(huggingFaceName: config.hiddenAct) else { throw ModelError.unsupportedActivation(config.hiddenAct) }
        activation = a
    }

    public var parameters: [Parameter] { dense.parameters + prediction.parameters }

    /// Forward FLOPs at `tokens` positions (dense H·H, then H·1).
    public func forwardFLOPs(tokens: Int) -> Double { Double(tokens) * 2 * Double(dense.weight.value.count + prediction.weight.value.count) }

    /// hidden (B,T,H) → logits (B,T)
    public func callAsFunction(_ hidden: Variable, tape: Tape) -> Variable {
        let logits = prediction(activation(dense(hidden, tape: tape), tape: tape), tape: tape)
        return tape.reshape(logits, Array(hidden.shape.dropLast()))
    }
}

/// GPT-2's language-modelling head (Radford et al. 2019): the final hidden state times the token
/// table, logits = h·Wₑᵀ, with no bias and no parameters of its own (transformers'
/// `lm_head.weight` is tied to `transformer.wte.weight` and not stored).
public final class CausalLMHead: Module {
    public let decoderWeight: Parameter

    public init(tiedTo embeddings: Embedding) { decoderWeight = embeddings.weight }

    public var parameters: [Parameter] { [] }

    /// hidden (B,T,H) at flat `positions` (M) → logits (M,V).
    public func callAsFunction(_ hidden: Variable, positions: [Int32], tape: Tape) throws -> Variable {
        tape.linear(try tape.gather(tape.reshape(hidden, [-1, hidden.shape.last!]), indices: positions),
                    weight: tape.parameter(decoderWeight), bias: nil)
    }

    /// Σ CE(logits of every row of `hidden` (B,T,H), `targets` (B·T; ignored rows −100)) /
    /// normalizer and each row's argmax, through the fused decoder + cross-entropy (the (B·T,V)
    /// logits are never kept).
    public func loss(_ hidden: Variable, targets: [Int32], normalizer: Float? = nil, tape: Tape) -> (loss: Variable, predictions: [Int32]) {
        tape.linearCrossEntropy(tape.reshape(hidden, [-1, hidden.shape.last!]), weight: tape.parameter(decoderWeight), bias: nil,
                                targets: targets, normalizer: normalizer)
    }

    /// Forward FLOPs at `rows` scored positions (H·V each, 2 per multiply-add).
    public func forwardFLOPs(rows: Int) -> Double { Double(rows) * 2 * Double(decoderWeight.value.count) }
}
