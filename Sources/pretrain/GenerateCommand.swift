import ArgumentParser
import Foundation
import Models
import PretrainKit
import Tensors
import Tokenizers

/// `pretrain generate`: continue texts with a causal LM (a GPT-2 model folder).
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Continue texts with a GPT-2 model folder: incremental decoding with a key/value cache, stopping at end-of-text.")

    @Option(help: "Model folder (GPT2LMHeadModel: config.json, model.safetensors, tokenizer.json).")
    var model: String

    @Option(help: "New tokens per text at most.")
    var maxNewTokens: Int = 40

    @Flag(help: "Always take the most likely token (the default unless a sampling option is given).")
    var greedy = false

    @Option(help: "Sample from softmax(logits / T).")
    var temperature: Float?

    @Option(help: "Sample among the K most likely tokens only (0: all).")
    var topK: Int?

    @Option(help: "Sample among the most likely tokens whose probabilities reach P (1: all).")
    var topP: Float?

    @Option(help: "Seed of the sampling draws (one stream per input line).")
    var seed: UInt64 = 0

    @Option(help: "Threads (default: all cores).")
    var threads: Int?

    @Flag(help: "One JSON object per input line: {\"prompt_ids\", \"ids\" (generated only), \"text\" (the generated text)}.")
    var json = false

    @OptionGroup var inputs: TextInputOptions

    func validate() throws {
        let sampling = temperature != nil || topK != nil || topP != nil
        if greedy && sampling { throw ValidationError("--greedy takes no --temperature, --top-k or --top-p") }
        if maxNewTokens < 0 { throw ValidationError("--max-new-tokens must be ≥ 0") }
    }

    var decoding: Decoding {
        guard temperature != nil || topK != nil || topP != nil else { return .greedy }
        return .sampling(temperature: temperature ?? 1, topK: topK ?? 0, topP: topP ?? 1)
    }

    func run() throws {
        try reportingErrors {
            Threading.configure(threads: threads ?? Threading.coreCount)
            let loaded = try TextModel(model)
            let options = GenerationOptions(maxNewTokens: maxNewTokens, decoding: decoding, seed: seed)
            var index = 0
            for chunk in try inputs.batches() {
                for (prompt, continuation) in zip(chunk, try loaded.generate(chunk, options: options, promptIndexOffset: index)) {
                    if json {
                        try printJSONLine(["prompt_ids": continuation.promptIDs, "ids": continuation.ids, "text": continuation.text])
                    } else {
                        print(prompt + continuation.text)
                    }
                }
                index += chunk.count
            }
        }
    }
}
