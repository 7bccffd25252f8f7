import Foundation
import ModelConfig
import Models

/// The seed article's BERT/ALBERT parameter table (Lan et al. 2020, Table 1) against the counts
/// the architectures give (`ParameterCount`, equal to transformers' own): computed, not trained.
public enum ParameterTable {
    public struct Row: Sendable {
        public var preset: String
        /// The seed's number, in millions.
        public var seedMillions: Double
        public var config: EncoderConfiguration
        /// transformers' `…Model` (embeddings, layers, pooler) and the same without the pooler.
        public var backbone: Int
        public var withoutPooler: Int

        /// Whether either count is the seed's number as the seed rounds it (whole millions):
        /// within 0.5M, or 1 % for the larger BERTs.
        public var matches: Bool {
            [backbone, withoutPooler].contains { count in
                let millions = Double(count) / 1e6
                return abs(millions - seedMillions) <= max(0.5, 0.01 * seedMillions)
            }
        }
    }

    /// The seed's rows (seed 003): BERT counts embeddings + layers, ALBERT the model with its pooler.
    static let seed: [(preset: String, millions: Double)] = [
        ("bert-base", 108), ("bert-large", 334), ("albert-base", 12), ("albert-large", 18), ("albert-xlarge", 60), ("albert-xxlarge", 235),
    ]

    public static func rows() throws -> [Row] {
        try seed.map { preset, millions in
            let config = try EncoderConfiguration.resolve(preset)
            let count = ParameterCount(config: config, heads: [.maskedLM, .sentencePair])
            return Row(preset: preset, seedMillions: millions, config: config, backbone: count.backbone, withoutPooler: count.backbone - count.pooler)
        }
    }

    /// A line for the report's summary table and the section with the whole table.
    /// `link`: the report's path for the summary line's link ("" within the report).
    static func markdown(link: String) throws -> (summary: String, section: String) {
        let rows = try rows()
        let off = rows.filter { !$0.matches }
        let verdict = off.isEmpty
            ? "holds: every row is what the architecture gives"
            : "holds for \(rows.count - off.count) of \(rows.count) rows; " + off.map { r in
                String(format: "%@ is %.1fM, not %gM", r.preset, Double(r.backbone) / 1e6, r.seedMillions)
            }.joined(separator: ", ")
        var section = """

        ## ALBERT: the seed's parameter table
        <a id="albert-parameters"></a>

        **The article** (seed 003, Lan et al. 2020, Table 1): ALBERT-base has 12M parameters against BERT-base's 108M, through a
        factorised embedding (E=128) and one set of layer weights shared by every layer.

        **What we computed** (`pretrain params --config PRESET`; the counts equal transformers' own, see
        `Tests/ModelsTests/Fixtures/param_counts.json`):

        | model | seed | layers | hidden | embedding | shared | ours: `…Model` | without pooler | matches |
        |---|---|---|---|---|---|---|---|---|

        """
        for r in rows {
            section += String(format: "| %@ | %gM | %d | %d | %d | %@ | %.2fM | %.2fM | %@ |\n", r.preset, r.seedMillions, r.config.layers,
                              r.config.hiddenSize, r.config.embeddingSize, r.config.sharing == .none ? "no" : "yes",
                              Double(r.backbone) / 1e6, Double(r.withoutPooler) / 1e6, r.matches ? "yes" : "**no**")
        }
        section += "\n**Verdict: \(verdict).** BERT's numbers are embeddings + layers, ALBERT's include the pooler"
            + (off.isEmpty ? ".\n" : "; the rows marked **no** do not follow from their sizes (feed-forward 4H, E=128, one shared layer).\n")
        return ("| [ALBERT: the seed's parameter table](\(link)#albert-parameters) | parameters | – | – | \(verdict) |\n", section)
    }
}
