import Foundation
import Models
import SafeTensors

/// ELECTRA (Clark et al. 2020; google-research/electra `run_pretraining.py`): a small generator
/// trained with MLM fills the masked positions with samples from its softmax, and the
/// discriminator learns which tokens of that corrupted input were replaced.
///
/// - The generator (``ModelConfig/EncoderConfiguration/electraGenerator(fraction:)``: hidden × 1/4,
///   max(1, hidden/64) heads, same depth) shares the discriminator's embedding module — token,
///   position and token-type tables and the embedding LayerNorm — so those tensors get the
///   gradients of both networks, summed; each network has its own E→H projection, and the
///   generator's MLM head decodes with the shared token table.
/// - Replacements are drawn at `temperature` with no gradient through the draw (an exact
///   categorical draw from the fused decoder's softmax; the reference's Gumbel-max draws from
///   the same distribution). A token is *replaced* only where the draw differs from the
///   original: a correct guess counts as original.
/// - Loss = MLM_generator (mean over the masked positions) + λ · RTD, RTD the mean sigmoid
///   binary cross-entropy over every non-pad token (λ = `disc_weight`, 50).
///
/// Metrics: `generator_mlm_loss`, `generator_mlm_accuracy`, `rtd_loss`, `rtd_accuracy`,
/// `rtd_precision`, `rtd_recall` (the positive class is *replaced*; a logit > 0 predicts it),
/// `replaced_fraction` and `rtd_baseline_accuracy` (calling every token original).
///
/// Exports: the discriminator as `model/` (`ElectraForPreTraining`, what fine-tuning uses) and
/// the generator as `generator/` (`ElectraForMaskedLM`). In the joint checkpoint the generator's
/// own parameters carry the prefix `generator.`.
public final class ReplacedTokenDetection: PretrainingObjective {
    public let discriminator: PretrainingModel
    public let generator: PretrainingModel
    public let discriminatorWeight: Double
    public let temperature: Float
    public let name = ObjectiveKind.rtd.rawValue
    public static let generatorPrefix = "generator."

    /// Both networks for the discriminator configuration `config`, freshly initialised.
    public convenience init(config: EncoderConfiguration, generatorSize: Double = 0.25, discriminatorWeight: Double = 50,
                            temperature: Float = 1, seed: UInt64) throws {
        guard config.family == .electra else {
            throw ModelError.invalidConfiguration("replaced-token detection trains ELECTRA models (family electra, not \(config.family.rawValue))")
        }
        let discriminator = try PretrainingModel(config: config, heads: [.replacedToken], seed: seed)
        let generator = try PretrainingModel(config: config.electraGenerator(fraction: generatorSize), heads: [.maskedLM],
                                             seed: seed &+ 1, sharedEmbeddings: discriminator.encoder.embeddings)
        try self.init(discriminator: discriminator, generator: generator, discriminatorWeight: discriminatorWeight,
                      temperature: temperature)
    }

    /// A discriminator and a generator from Hugging Face folders (`ElectraForPreTraining`,
    /// `ElectraForMaskedLM`, e.g. google/electra-small-discriminator and -generator) to continue
    /// pretraining: the generator is rebuilt on the discriminator's embedding module, and its
    /// own tensors are loaded strictly from its folder.
    public static func load(discriminator discriminatorFolder: URL, generator generatorFolder: URL, discriminatorWeight: Double = 50,
                            temperature: Float = 1) throws -> ReplacedTokenDetection {
        let discriminator = try PretrainingModel.load(folder: discriminatorFolder, heads: [.replacedToken])
        let (configURL, weightsURL) = try ModelFolder.files(in: generatorFolder)
        let file = try ConfigFile.load(from: configURL)
        let generator = try PretrainingModel(config: file.encoder, heads: [.maskedLM], sharedEmbeddings: discriminator.encoder.embeddings)
        let own = generator.parameters.filter { p in !discriminator.parameters.contains { $0 === p } }
        let report = try Checkpoint.load(own, family: .electra, from: SafeTensorsFile(contentsOf: weightsURL), file: weightsURL.path, strict: false)
        // The file's own copy of the shared embeddings is the one tensor set not loaded.
        let unexpected = report.unexpected.filter { !$0.hasPrefix("electra.embeddings.") }
        guard report.missing.isEmpty && unexpected.isEmpty else {
            throw ModelError.missingAndUnexpectedKeys(missing: report.missing, unexpected: unexpected, file: weightsURL.path)
        }
        return try ReplacedTokenDetection(discriminator: discriminator, generator: generator,
                                          discriminatorWeight: discriminatorWeight, temperature: temperature)
    }

    /// Two existing networks; `generator` must read `discriminator`'s embedding module. The
    /// generator's own parameters are renamed with ``generatorPrefix`` (checkpoint keys are unique).
    public init(discriminator: PretrainingModel, generator: PretrainingModel, discriminatorWeight: Double = 50, temperature: Float = 1) throws {
        guard discriminator.replacedToken != nil, generator.maskedLM != nil else {
            throw ModelError.invalidConfiguration("ELECTRA needs a discriminator with the replaced-token head and a generator with the masked-LM head")
        }
        guard generator.encoder.embeddings === discriminator.encoder.embeddings else {
            throw ModelError.invalidConfiguration("ELECTRA's generator must share the discriminator's embeddings")
        }
        (self.discriminator, self.generator, self.discriminatorWeight, self.temperature) = (discriminator, generator, discriminatorWeight, temperature)
        let shared = Set(discriminator.parameters.map(ObjectIdentifier.init))
        for p in generator.parameters where !shared.contains(ObjectIdentifier(p)) && !p.name.hasPrefix(Self.generatorPrefix) {
            p.name = Self.generatorPrefix + p.name
        }
    }

    public var parameters: [Parameter] {
        let shared = Set(discriminator.parameters.map(ObjectIdentifier.init))
        return discriminator.parameters + generator.parameters.filter { !shared.contains(ObjectIdentifier($0)) }
    }

    public var exports: [ModelExport] {
        [ModelExport(folder: "model", model: discriminator),
         ModelExport(folder: "generator", model: generator, checkpointPrefix: Self.generatorPrefix)]
    }

    /// [masked predictions, non-pad tokens].
    public func normalizerCounts(in batch: PretrainingBatch) -> [Int] { [batch.predictionCount, batch.tokenCount] }

    public func loss(_ pass: ForwardPass, normalizers: [Int], statistics: inout ObjectiveStatistics) throws -> Variable? {
        try loss(pass, normalizers: normalizers, statistics: &statistics, replacements: nil)
    }

    /// The joint loss; `replacements` (one per masked position) stand in for the generator's draws
    /// (the golden test feeds PyTorch's).
    func loss(_ pass: ForwardPass, normalizers: [Int], statistics: inout ObjectiveStatistics,
              replacements: [Int32]?) throws -> Variable {
        let batch = pass.batch, tape = pass.tape
        let predictions = max(1, normalizers[0]), tokens = max(1, normalizers[1])
        guard let lmHead = generator.maskedLM, let rtdHead = discriminator.replacedToken else {
            throw ModelError.invalidConfiguration("ELECTRA's heads are missing")
        }
        // Generator: MLM at the masked rows, drawing a replacement for each in the same pass.
        let g = try generator.encoder(batch.input, training: pass.training, tape: tape, readingOnly: batch.positions)
        // One draw per real prediction, in row order (the padding rows get none).
        var uniforms = [Float](repeating: 0, count: batch.labels.count)
        for k in 0..<batch.predictionCount { uniforms[k] = Float(pass.random.uniformDouble()) }
        let (mlm, guesses, drawn) = try lmHead.lossSampling(g.hidden, positions: g.rows(at: batch.positions), targets: batch.labels,
                                                            normalizer: Float(predictions), uniforms: uniforms,
                                                            temperature: temperature, tape: tape)
        let samples = replacements ?? drawn
        precondition(samples.count >= batch.predictionCount, "one replacement per masked position")
        statistics.add("generator_mlm_loss", Double(mlm.value.scalar) * Double(predictions), over: batch.predictionCount)
        statistics.add("generator_mlm_accuracy", Double(matches(guesses, batch.labels)),
                       over: batch.predictionCount)

        // The corrupted input and its labels: 1 where the draw differs from the original token.
        var corrupted = batch.input
        let targets = Tensor(zeros: [batch.input.batch, batch.input.length])
        for k in 0..<batch.predictionCount {
            let p = Int(batch.positions[k])
            corrupted.ids[p] = samples[k]
            if samples[k] != batch.labels[k] { targets.data[p] = 1 }
        }
        let d = try discriminator.encoder(corrupted, training: pass.training, tape: tape)
        let logits = rtdHead(d.hidden, tape: tape)
        let weights = batch.input.attentionMask.map { Tensor($0, shape: [batch.input.batch, batch.input.length]) }
        // λ folded into the normaliser: λ·Σ BCE / N.
        let scale = Double(tokens) / discriminatorWeight
        let rtd = tape.binaryCrossEntropyWithLogits(logits, targets: targets, weights: weights, normalizer: Float(scale))

        var counted = 0, correct = 0, truePositives = 0, predictedPositives = 0, replaced = 0
        for i in 0..<targets.count where weights.map({ $0.data[i] > 0 }) ?? true {
            let isReplaced = targets.data[i] > 0, predictsReplaced = logits.value.data[i] > 0
            counted += 1
            if isReplaced == predictsReplaced { correct += 1 }
            if isReplaced { replaced += 1 }
            if predictsReplaced { predictedPositives += 1; if isReplaced { truePositives += 1 } }
        }
        statistics.add("rtd_loss", Double(rtd.value.scalar) * scale, over: counted)
        statistics.add("rtd_accuracy", Double(correct), over: counted)
        statistics.add("rtd_precision", Double(truePositives), over: predictedPositives)
        statistics.add("rtd_recall", Double(truePositives), over: replaced)
        statistics.add("replaced_fraction", Double(replaced), over: counted)
        statistics.add("rtd_baseline_accuracy", Double(counted - replaced), over: counted)
        return tape.add(mlm, rtd)
    }

    /// Generator (encoder at every position, MLM head at the masked ones) and discriminator
    /// (encoder and RTD head at every position); the draw has no backward and is not counted.
    public func forwardFLOPs(of batch: PretrainingBatch) -> Double {
        let (b, t) = (batch.input.batch, batch.input.length)
        return generator.encoder.forwardFLOPs(sequences: b, length: t) + (generator.maskedLM?.forwardFLOPs(rows: batch.predictionCount) ?? 0)
            + discriminator.encoder.forwardFLOPs(sequences: b, length: t) + (discriminator.replacedToken?.forwardFLOPs(tokens: b * t) ?? 0)
    }
}
