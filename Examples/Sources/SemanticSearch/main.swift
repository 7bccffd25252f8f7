// Semantic search in a few lines: embed a small collection once, then rank it against queries by
// cosine similarity. Run from the repository root after `make setup` (which fetches data/minilm):
//
//     swift run --package-path Examples -c release SemanticSearch [MODEL_DIR] ["a query" …]
import Foundation
import PretrainKit

let arguments = Array(CommandLine.arguments.dropFirst())
let folder = arguments.first ?? "data/minilm"
let queries = arguments.count > 1 ? Array(arguments.dropFirst()) : ["Who made the world?", "a pet that purrs", "How do I cook pasta?"]
let documents = [
    "In the beginning God created the heavens and the earth.",
    "The cat sat on the mat and purred.",
    "Boil the water, add salt, then the spaghetti for nine minutes.",
    "The stock market fell sharply on Monday.",
    "Dogs are loyal companions that love long walks.",
    "The Lord is my shepherd; I shall not want.",
]

do {
    let model = try TextModel(folder)
    let index = try model.embed(documents)
    for (query, vector) in zip(queries, try model.embed(queries)) {
        let ranked = index.indices.map { (documents[$0], TextModel.cosine(vector, index[$0])) }.sorted { $0.1 > $1.1 }
        print("\(query)")
        for (document, score) in ranked.prefix(2) { print(String(format: "  %.3f  %@", score, document)) }
    }
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
