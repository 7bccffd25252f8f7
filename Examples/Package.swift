// swift-tools-version:6.0
// Examples of the Pretrain library used from another package: it depends on this repository by
// path (see the README's "Using the library" for why path or branch, not a version).
import PackageDescription

let package = Package(
    name: "PretrainExamples",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Pretrain", path: ".."),
    ],
    targets: [
        // Embed a few sentences with all-MiniLM-L6-v2 and rank them against a query.
        .executableTarget(name: "SemanticSearch", dependencies: [.product(name: "PretrainKit", package: "Pretrain")]),
        // Fine-tune all-MiniLM-L6-v2 on the sentiment task briefly, then classify new sentences.
        .executableTarget(name: "FineTuneAndPredict", dependencies: [
            .product(name: "PretrainKit", package: "Pretrain"),
            .product(name: "FineTuning", package: "Pretrain"),
        ]),
    ]
)
