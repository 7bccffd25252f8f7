import Foundation

/// A distillation student made from its teacher (Sanh et al. 2019, §3 "Student initialization":
/// "taking one layer out of two"), as transformers' `scripts/extract_distilbert.py` does.
extension PretrainingModel {
    /// Which teacher layers a student keeps when none are named: every other one from the first
    /// (DistilBERT's `[0, 2, 4, 7, 9, 11]` for 12 layers, which skips 5 for 7 to keep the last
    /// layers' spread, is the one exception).
    public static func defaultStudentLayers(teacherLayers n: Int) -> [Int] {
        n == 12 ? [0, 2, 4, 7, 9, 11] : Array(stride(from: 0, to: n, by: 2))
    }

    /// A student of `teacher`: the embeddings, the teacher's layers `layers` in that order and its
    /// masked-LM head (when it has one) copied.
    ///
    /// A BERT teacher gives a DistilBERT student (`model_type` distilbert: no token-type table —
    /// BERT adds segment 0's row to every token, which the student then lacks, as in the reference
    /// —, no pooler, `DistilBertForMaskedLM` names); any other family keeps its own family with
    /// fewer layers (RoBERTa → DistilRoBERTa, which keeps its one-row token-type table).
    public func student(layers chosen: [Int]) throws -> PretrainingModel {
        let teacherLayers = encoder.config.layers
        guard !chosen.isEmpty, chosen.allSatisfy({ (0..<teacherLayers).contains($0) }) else {
            throw ModelError.invalidConfiguration("student layers \(chosen) must be indices of the teacher's \(teacherLayers) layers (0…\(teacherLayers - 1))")
        }
        guard config.sharing == .none else {
            throw ModelError.invalidConfiguration("a \(config.family.rawValue) teacher shares its layers; a student picks layers out of a stack of distinct ones (BERT, RoBERTa, ELECTRA, DistilBERT)")
        }
        var c = config
        c.layers = chosen.count
        if c.family == .bert {
            c.family = .distilbert
            c.typeVocabSize = 0
            c.pooler = false
        }
        let student = try PretrainingModel(config: c, heads: heads.intersection([.maskedLM, .causalLM]), seed: 0)
        func copy(_ from: [Parameter], _ to: [Parameter], _ what: String) throws {
            guard from.count == to.count else { throw ModelError.invalidConfiguration("student \(what): \(to.count) tensors vs the teacher's \(from.count)") }
            for (source, target) in zip(from, to) {
                guard source.shape == target.shape else {
                    throw ModelError.invalidConfiguration("student \(target.name) has shape \(target.shape), the teacher's \(source.name) \(source.shape)")
                }
                target.value.assign(source.value)
            }
        }
        let (from, to) = (encoder.embeddings, student.encoder.embeddings)
        try copy(from.words.parameters + from.positions.parameters + (from.norm?.parameters ?? []),
                 to.words.parameters + to.positions.parameters + (to.norm?.parameters ?? []), "embeddings")
        if let target = to.tokenTypes, let source = from.tokenTypes { try copy(source.parameters, target.parameters, "token types") }
        try copy(encoder.projection?.parameters ?? [], student.encoder.projection?.parameters ?? [], "embedding projection")
        for (j, i) in chosen.enumerated() { try copy(encoder.layers[i].parameters, student.encoder.layers[j].parameters, "layer \(j)") }
        try copy(encoder.finalNorm?.parameters ?? [], student.encoder.finalNorm?.parameters ?? [], "final LayerNorm")
        if let head = student.maskedLM, let teacherHead = maskedLM { try copy(teacherHead.parameters, head.parameters, "MLM head") }
        return student
    }
}
