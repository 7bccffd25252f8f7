// Fine-tune a model folder on a built-in task from code, then use the fine-tuned folder as a
// classifier. Run from the repository root after `make setup`:
//
//     swift run --package-path Examples -c release FineTuneAndPredict [MODEL_DIR] [TRAIN_EXAMPLES]
import FineTuning
import Foundation
import PretrainKit

let arguments = Array(CommandLine.arguments.dropFirst())
let model = URL(fileURLWithPath: arguments.first ?? "data/minilm")
let examples = arguments.count > 1 ? Int(arguments[1]) ?? 800 : 800

do {
    var settings = FineTuneSettings()
    try settings.apply(["epochs=2", "lr=1e-4", "batch_size=16", "max_train_examples=\(examples)"])
    let run = FileManager.default.temporaryDirectory.appendingPathComponent("finetune-example-\(getpid())")
    defer { try? FileManager.default.removeItem(at: run) }
    let best = try FineTuneJob(builtinTask: "sentiment", model: model, runFolder: run, settings: settings).run()
    print(String(format: "sentiment, %d training examples, 2 epochs: dev accuracy %.3f", examples, best["accuracy"] ?? 0))

    let classifier = try TextClassifier(folder: run.appendingPathComponent("model"))
    for text in ["A warm, funny and beautifully acted film.", "Dull, predictable and far too long."] {
        let prediction = try classifier.classify(text)
        print(String(format: "%@ → %@ (%.2f)", text, prediction.label, prediction.score))
    }
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
