import Foundation
import PretrainingData
import Tokenizers

/// The tokenizer of a run: `RUN_DIR/tokenizer.json` when it exists (a resumed run), else the
/// recipe's tokenizer.json path, else one trained on the corpus text as the recipe asks.
public enum RunTokenizer {
    /// Lines given to the tokenizer trainer at most (enough for a stable 8–32k vocabulary).
    public static let trainingLineLimit = 2_000_000

    public static func prepare(recipe: Recipe, runFolder: URL, corpusLines: () throws -> [String],
                               report: (String) -> Void) throws -> Tokenizer {
        let saved = runFolder.appendingPathComponent("tokenizer.json")
        if FileManager.default.fileExists(atPath: saved.path) { return try Tokenizer(contentsOf: saved) }
        let tokenizer: Tokenizer
        if recipe.objectives.contains(.distillation) {
            // The student reads what its teacher reads.
            let url = URL(fileURLWithPath: recipe.teacher).appendingPathComponent("tokenizer.json")
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw RecipeError.invalid("the teacher folder \(recipe.teacher) has no tokenizer.json; distillation uses the teacher's tokenizer (copy it into the folder)")
            }
            tokenizer = try Tokenizer(contentsOf: url)
        } else if let kind = TrainerKind(rawValue: recipe.tokenizer) {
            let lines = try corpusLines()
            report("training a \(kind.rawValue) tokenizer (vocab \(recipe.vocabSize)) on \(lines.count) lines")
            if recipe.family == .gpt2 {
                // GPT-2's: byte-level BPE whose one special token is end-of-text, no template.
                guard kind == .bpe else { throw RecipeError.invalid("GPT-2 uses a byte-level BPE tokenizer: tokenizer=bpe (or a tokenizer.json)") }
                var config = try trainTokenizer(kind: .bpe, lines: lines,
                                                options: TrainerOptions(vocabSize: recipe.vocabSize, specialTokens: [SequenceTemplate.endOfText])).config
                config.postProcessor = .byteLevel(trimOffsets: true, addPrefixSpace: false)
                tokenizer = try Tokenizer(config: config)
            } else {
                let trained = try trainTokenizer(kind: kind, lines: lines, options: TrainerOptions(vocabSize: recipe.vocabSize))
                tokenizer = try withPostProcessor(trained, kind: kind)
            }
        } else {
            tokenizer = try Tokenizer(contentsOf: URL(fileURLWithPath: recipe.tokenizer))
        }
        try tokenizer.save(to: saved)
        return tokenizer
    }

    /// Adds the model family's special-token template, as the Hugging Face tokenizers of BERT
    /// (`[CLS] A [SEP] B [SEP]`) and RoBERTa (`<s> A </s></s> B </s>`) have it.
    static func withPostProcessor(_ tokenizer: Tokenizer, kind: TrainerKind) throws -> Tokenizer {
        var config = tokenizer.config
        func id(_ token: String) throws -> Int {
            guard let id = tokenizer.id(of: token) else { throw TokenizerError.training("the trained vocabulary lacks \(token)") }
            return id
        }
        switch kind {
        case .bpe:
            config.postProcessor = .roberta(sep: ("</s>", try id("</s>")), cls: ("<s>", try id("<s>")), trimOffsets: true, addPrefixSpace: false)
        case .wordpiece, .unigram:
            config.postProcessor = .bert(sep: ("[SEP]", try id("[SEP]")), cls: ("[CLS]", try id("[CLS]")))
        }
        return try Tokenizer(config: config)
    }
}
