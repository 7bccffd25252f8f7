import Foundation
import PretrainingData

/// Masked instances from a tokenized corpus, addressed by (epoch, index): each epoch's instance
/// plan is drawn from (seed, epoch) and each instance's mask from (seed, epoch, index), so the
/// stream needs no state beyond its position. Static masking (BERT) repeats data and masks with
/// period `dupe_factor`; dynamic masking (RoBERTa) draws fresh ones every epoch. A `fixed` stream
/// (held-out evaluation) always serves epoch 0.
public final class CorpusInstanceStream: InstanceStream {
    public let corpus: TokenizedCorpus
    public let builder: InstanceBuilder
    /// What the objectives predict: masked tokens (MLM and its kin), permutation LM's targets
    /// and order, or nothing (CLM: instances are served unmasked).
    public let targets: Recipe.Targets
    public let seed: UInt64
    /// nil = dynamic masking.
    public let dupeFactor: Int?
    public let fixed: Bool
    private var cachedEpoch = -1
    private var plans: [InstancePlan] = []

    public init(corpus: TokenizedCorpus, recipe: Recipe, template: SequenceTemplate, seed: UInt64, fixed: Bool = false) throws {
        self.corpus = corpus
        guard let format = recipe.format.inputFormat else {
            throw RecipeError.invalid("format \(recipe.format.rawValue) reads a parallel corpus (TranslationInstanceStream), not shards")
        }
        builder = try InstanceBuilder(config: InstanceConfig(maxLength: recipe.seqLen, shortSequenceProbability: recipe.shortSeqProb,
                                                             format: format, sentenceTask: recipe.sentenceTask),
                                      template: template)
        targets = try recipe.targets(template: template)
        self.seed = seed
        dupeFactor = recipe.maskMode == .static ? recipe.dupeFactor : nil
        self.fixed = fixed
    }

    func dataEpoch(_ epoch: Int) -> Int { fixed ? 0 : MaskingSeed.dataEpoch(epoch, dupeFactor: dupeFactor) }

    func plans(for epoch: Int) -> [InstancePlan] {
        let e = dataEpoch(epoch)
        if e != cachedEpoch {
            plans = builder.plan(corpus, seed: seed, epoch: e)
            cachedEpoch = e
        }
        return plans
    }

    public func count(epoch: Int) throws -> Int {
        let n = plans(for: epoch).count
        guard n > 0 else {
            throw RecipeError.invalid("the corpus yields no training instances (\(corpus.documentCount) documents); give more text or a shorter seq_len")
        }
        return n
    }

    public func item(epoch: Int, index: Int) throws -> (instance: PretrainingInstance, masked: MaskedInstance) {
        let instance = builder.materialize(plans(for: epoch)[index], from: corpus)
        var rng = MaskingSeed.rng(seed: seed, epoch: dataEpoch(epoch), index: index)
        switch targets {
        case .masked(let masking): return (instance, masking.mask(instance, using: &rng))
        case .permutation(let permutation): return (instance, permutation.choose(instance, using: &rng))
        case .none: return (instance, MaskedInstance(inputIDs: instance.ids, positions: [], labels: []))
        }
    }
}

extension Recipe {
    /// What a recipe's objectives predict of an instance.
    public enum Targets: Sendable {
        case masked(MaskingConfig)
        case permutation(PermutationTargets)
        case none
    }

    /// The targets of the recipe's objectives: permutation LM's spans and order, CLM's nothing
    /// (every next token), otherwise the masking the recipe describes.
    public func targets(template: SequenceTemplate) throws -> Targets {
        if objectives.contains(.plm) {
            return .permutation(PermutationTargets(probability: plmProbability, maxSpanLength: maxSpanLength, maxPredictions: maxPredictions))
        }
        return objectives.contains(.clm) ? .none : .masked(try maskingConfig(template: template))
    }

    /// The masking the recipe's `masking`, `mask_prob`, `max_predictions` and ratios describe.
    public func maskingConfig(template: SequenceTemplate) throws -> MaskingConfig {
        try MaskingConfig(template: template, scheme: masking.scheme, probability: maskProb,
                          maxPredictions: maxPredictions, maskRatio: maskRatio, randomRatio: randomRatio)
    }
}
