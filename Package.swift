// swift-tools-version:6.0
// The package's targets form one-way layers; see docs/ARCHITECTURE.md.
import PackageDescription

#if os(Linux)
let blasDependencies: [Target.Dependency] = ["CBLAS"]
// Open MPI (Debian's libopenmpi-dev), reached through a shim for its handle macros; macOS builds
// run single-process (Collectives compiles its MPI path only where CMPI exists).
let mpiDependencies: [Target.Dependency] = ["CMPI"]
let blasTargets: [Target] = [
    .systemLibrary(
        name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
        providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(
        name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi",
        providers: [.apt(["libopenmpi-dev"])]),
]
#else
let blasDependencies: [Target.Dependency] = []
let mpiDependencies: [Target.Dependency] = []
let blasTargets: [Target] = []
#endif

// Release builds: whole-module optimisation, and on x86-64 AVX2+FMA so SIMD8<Float> maps onto one
// register (SSE-only code is ~2x slower). Only the numeric layers — BLAS, the kernels, autodiff,
// layers and optimizers, whose inner loops run on pointers and sizes they checked themselves —
// drop overflow and bounds traps (-Ounchecked); everything that reads a user's files (tokenizers,
// safetensors, config.json, shards, task files, checkpoints) or builds from them keeps every check
// (-O), as users run it. Debug builds (and so `swift test`) stay generic.
#if arch(x86_64)
let cpuFlags = ["-target-cpu", "haswell"]
#else
let cpuFlags: [String] = []
#endif
let optimizedSwift: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"] + cpuFlags, .when(configuration: .release))]
// PRETRAIN_UNCHECKED_EVERYWHERE=1 builds every target -Ounchecked, as before the checked split:
// only for the side-by-side speed check (scripts/bench/checked-vs-unchecked.sh), never for users.
let checkedSwift: [SwiftSetting] = Context.environment["PRETRAIN_UNCHECKED_EVERYWHERE"] == "1"
    ? optimizedSwift
    : [.unsafeFlags(["-O", "-wmo"] + cpuFlags, .when(configuration: .release))]

let package = Package(
    name: "Pretrain",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Tensors", targets: ["Tensors"]),
        .library(name: "Collectives", targets: ["Collectives"]),
        .library(name: "Autodiff", targets: ["Autodiff"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Optimizers", targets: ["Optimizers"]),
        .library(name: "Tokenizers", targets: ["Tokenizers"]),
        .library(name: "SafeTensors", targets: ["SafeTensors"]),
        .library(name: "PyTorchFiles", targets: ["PyTorchFiles"]),
        .library(name: "ModelConfig", targets: ["ModelConfig"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "PretrainingData", targets: ["PretrainingData"]),
        .library(name: "Training", targets: ["Training"]),
        .library(name: "Tasks", targets: ["Tasks"]),
        .library(name: "FineTuning", targets: ["FineTuning"]),
        .library(name: "PretrainKit", targets: ["PretrainKit"]),
        .executable(name: "pretrain", targets: ["pretrain"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // The zip container of PyTorch's pytorch_model.bin (`pretrain convert`).
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        // `swift package generate-documentation --target PretrainKit` (the DocC catalog).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: blasTargets + [
        // Layer 0: matrix products from the platform's BLAS and its thread control.
        .target(name: "BLAS", dependencies: blasDependencies, swiftSettings: optimizedSwift),
        // Layer 0 too: the processes of an `mpirun` job and their collectives (allreduce, broadcast).
        .target(name: "Collectives", dependencies: mpiDependencies, swiftSettings: optimizedSwift),
        // Layer 1: storage, RNG, parallel-for and the forward/backward kernels.
        .target(name: "Tensors", dependencies: ["BLAS"], swiftSettings: optimizedSwift),
        // Layer 2: the tape and the table of gradient rules.
        .target(name: "Autodiff", dependencies: ["Tensors"], swiftSettings: optimizedSwift),
        // Layer 3: parameters, layers, optimizers and schedules.
        .target(name: "NN", dependencies: ["Autodiff"], swiftSettings: optimizedSwift),
        .target(name: "Optimizers", dependencies: ["NN"], swiftSettings: optimizedSwift),
        // Layer 4: the BERT family, its heads and checkpoints.
        .target(name: "Models", dependencies: ["Optimizers", "ModelConfig", "SafeTensors"], swiftSettings: checkedSwift),
        // Layer 5: pretraining data (corpora, shards, instances, masking) and fine-tuning tasks.
        .target(name: "PretrainingData", dependencies: ["Tokenizers", "Tensors"], swiftSettings: checkedSwift),
        .target(name: "Tasks", dependencies: ["Tokenizers"], swiftSettings: checkedSwift),
        // Layer 6: objectives, the trainer, checkpoints and recipes.
        .target(name: "Training", dependencies: ["Collectives", "Models", "Optimizers", "PretrainingData", "SafeTensors", "Tokenizers"], swiftSettings: checkedSwift),
        .target(name: "FineTuning", dependencies: ["Collectives", "Models", "Tasks", "Training", "Tokenizers"], swiftSettings: checkedSwift),
        // Layer 7: the jobs people come for, a few lines each (load a folder, embed, fill masks,
        // detect replaced tokens, generate, classify); the CLI is a thin caller of it.
        .target(name: "Reproduction", dependencies: ["FineTuning", "Training", "PretrainingData", "Models", "ModelConfig"], swiftSettings: checkedSwift),
        .target(name: "PretrainKit", dependencies: ["FineTuning", "Models", "SafeTensors", "Tokenizers"], swiftSettings: checkedSwift),
        // Formats, independent of everything numeric.
        .target(name: "Tokenizers", swiftSettings: checkedSwift),
        .target(name: "SafeTensors", swiftSettings: checkedSwift),
        // PyTorch's torch.save archives read without unpickling arbitrary objects → safetensors.
        .target(name: "PyTorchFiles", dependencies: ["SafeTensors", .product(name: "ZIPFoundation", package: "ZIPFoundation")],
                swiftSettings: checkedSwift),
        .target(name: "ModelConfig", swiftSettings: checkedSwift),
        // The command-line tool.
        .executableTarget(
            name: "pretrain",
            dependencies: [
                "Tensors", "Autodiff", "NN", "Optimizers", "Tokenizers", "BLAS", "Collectives", "Models", "ModelConfig", "SafeTensors",
                "PretrainingData", "Tasks", "Training", "FineTuning", "PyTorchFiles", "PretrainKit", "Reproduction",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: checkedSwift),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
        .testTarget(name: "CollectivesTests", dependencies: ["Collectives"]),
        .testTarget(name: "AutodiffTests", dependencies: ["Autodiff", "NN"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Autodiff", "Optimizers"], resources: [.copy("Fixtures")]),
        .testTarget(name: "OptimizersTests", dependencies: ["Optimizers"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers"], resources: [.copy("Fixtures")]),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors"], resources: [.copy("Fixtures")]),
        .testTarget(name: "PyTorchFilesTests", dependencies: ["PyTorchFiles", "SafeTensors", .product(name: "ZIPFoundation", package: "ZIPFoundation")], resources: [.copy("Fixtures")]),
        .testTarget(name: "ModelConfigTests", dependencies: ["ModelConfig"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ModelsTests", dependencies: ["Models"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TrainingTests", dependencies: ["Collectives", "Training", "Models", "PretrainingData", "SafeTensors"], resources: [.copy("Fixtures")]),
        .testTarget(name: "FineTuningTests", dependencies: ["FineTuning", "Models", "Tasks", "Tokenizers", "Training"], resources: [.copy("Fixtures")]),
        .testTarget(name: "PretrainingDataTests", dependencies: ["PretrainingData", "Tokenizers", "Tensors"]),
        .testTarget(name: "TasksTests", dependencies: ["Tasks", "Tokenizers"]),
        .testTarget(name: "ReproductionTests", dependencies: ["Reproduction", "Training"]),
        .testTarget(name: "PretrainKitTests", dependencies: ["PretrainKit", "FineTuning", "Training", "Models", "Tasks"]),
    ]
)
