// swift-tools-version:6.1
import Foundation
import PackageDescription

// Release builds name a CPU target everywhere: without one, SIMD `addingProduct` lowers to a libm call per
// lane (~10x slower). The default is a portable baseline, `haswell` (AVX2 + FMA + F16C: all three machine families
// have it), so no AVX-512 instruction escapes into Swift code: the ISA-specific kernels live in CKernels and are
// chosen at run time by cpuid, a binary runs on any AVX2 machine, and `DSLLM_ISA=avx2` on an AVX-512 machine runs
// exactly what an AVX2 machine runs. DSLLM_TARGET_CPU overrides it (e.g. `native` for a build-machine-only binary).
let targetCPU = ProcessInfo.processInfo.environment["DSLLM_TARGET_CPU"] ?? "haswell"
// -Ounchecked (no bounds or overflow checks) only for the numeric kernels: DSTensor, and the forward/backward
// loops of DSModel and DSTraining, whose indices come from shapes validated when a model or shard is loaded.
let kernelSettings: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-target-cpu", targetCPU], .when(configuration: .release))
]
// Everything that reads untrusted input (file formats, tokenizer files, data ingest, chat/preference JSONL, HTTP
// requests, sampling parameters such as logit_bias token ids, the CLI) keeps its preconditions: release's -O,
// with the CPU target so its SIMD stays fast. A malformed input then traps with a message instead of reading
// out of bounds.
let checkedSettings: [SwiftSetting] = [
    .unsafeFlags(["-O", "-target-cpu", targetCPU], .when(configuration: .release))
]

let package = Package(
    name: "dsllm",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "dsllm", targets: ["dsllm"]),
        .library(name: "DSFormats", targets: ["DSFormats"]),
        .library(name: "DSTokenizer", targets: ["DSTokenizer"]),
        .library(name: "DSTensor", targets: ["DSTensor"]),
        .library(name: "DSModel", targets: ["DSModel"]),
        .library(name: "DSGeneration", targets: ["DSGeneration"]),
        .library(name: "DSServer", targets: ["DSServer"]),
        .library(name: "DSTraining", targets: ["DSTraining"]),
        .library(name: "DSAlignment", targets: ["DSAlignment"]),
        .library(name: "DSEvaluation", targets: ["DSEvaluation"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // The HTTP server (dsllm serve). Default traits off: swift-configuration is not needed.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: ["FullFoundation"]),
    ],
    targets: [
        // File formats: GGUF, safetensors, PyTorch checkpoints, JSON (reader and writer), llm.c token shards, text lines
        // (plain/gzip/zstd through CCompress). Tensor types (GGMLType) come from DSTensor, below it.
        .target(name: "DSFormats", dependencies: ["DSTensor", "CCompress"], swiftSettings: checkedSettings),
        // The one file that calls a BLAS (oneDNN or OpenBLAS, opened at run time with dlopen).
        .target(name: "CGemm", linkerSettings: [.linkedLibrary("dl")]),
        // The innermost ISA-specific kernels (activation quantizers, repacking, integer GEMV/GEMM), one variant per
        // level in one object via per-function target attributes, chosen at run time by cpuid.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"], .when(configuration: .release))]),
        // Tensor storage and numeric kernels: dtypes (GGMLType), (de)quantization, matrix multiply, the worker pool,
        // SplitMix64. The bottom of the graph: no other dsllm module, only its C shims (a structure test checks).
        .target(name: "DSTensor", dependencies: ["CGemm", "CKernels"], swiftSettings: kernelSettings),
        // LLaMA-style model: config, weights from safetensors/GGUF, forward pass with KV cache.
        .target(name: "DSModel", dependencies: ["DSTensor", "DSFormats"], swiftSettings: kernelSettings),
        // Sampling (GenerateParameters, LogitProcessor chain, Sampler), stop strings, TokenIterator.
        .target(name: "DSGeneration", dependencies: ["DSModel", "DSTokenizer", "DSTensor", "DSFormats"], swiftSettings: checkedSettings),
        // Pre-training: parameter slab, forward/backward pairs, AdamW, schedules.
        .target(name: "DSTraining", dependencies: ["DSModel", "DSTensor", "DSFormats", "CMPI"], swiftSettings: kernelSettings),
        // The one file that calls MPI (Open MPI's libmpi opened at run time, only under mpirun).
        .target(name: "CMPI", linkerSettings: [.linkedLibrary("dl")]),
        // OpenAI-compatible HTTP server: routes, continuous-batching scheduler, metrics, chat page.
        .target(
            name: "DSServer",
            dependencies: ["DSGeneration", "DSModel", "DSTokenizer", "DSFormats", .product(name: "Hummingbird", package: "hummingbird")],
            swiftSettings: checkedSettings
        ),
        // Streaming gzip/zstd decoding (libz / libzstd opened at run time with dlopen).
        .target(name: "CCompress", linkerSettings: [.linkedLibrary("dl")]),
        // Pre-training data: document store, ingest, exact/near dedup, quality filters, remix, tokenize to shards.
        .target(name: "DSData", dependencies: ["DSFormats", "DSTokenizer", "DSTensor"], swiftSettings: checkedSettings),
        // Scaling laws: FLOPs per token, optimal hyperparameters and allocation, power-law and IsoFLOP fits, the sweep
        // plan (runs of `dsllm train`; DSTraining for its checkpoint and log rules).
        .target(name: "DSScaling", dependencies: ["DSTensor", "DSFormats", "DSTraining"], swiftSettings: checkedSettings),
        // Evaluation (lm-evaluation-harness's request types and metrics) over the inference engine.
        .target(name: "DSEvaluation", dependencies: ["DSGeneration", "DSModel", "DSTokenizer", "DSFormats", "DSTensor"], swiftSettings: checkedSettings),
        // SFT and DPO on the training engine: chat/preference JSONL → masked, packed rows.
        .target(name: "DSAlignment", dependencies: ["DSTraining", "DSTokenizer", "DSData", "DSFormats", "DSTensor"], swiftSettings: checkedSettings),
        // Byte-level BPE: loading, DeepSeek pre-tokenizer, encode/decode, chat template, trainer.
        .target(
            name: "DSTokenizer",
            dependencies: ["DSFormats", "DSTensor"],
            resources: [.copy("Resources/ggml-vocab-deepseek-llm.gguf")],
            swiftSettings: checkedSettings
        ),
        .executableTarget(
            name: "dsllm",
            dependencies: [
                "DSTokenizer", "DSFormats", "DSModel", "DSTensor", "DSGeneration", "DSServer", "DSTraining", "DSData", "DSScaling", "DSAlignment", "DSEvaluation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: checkedSettings
        ),
        // Shared helpers for the test targets (seeded random numbers).
        .target(name: "TestSupport", dependencies: ["DSTensor"], path: "Tests/TestSupport"),
        .testTarget(name: "DSFormatsTests", dependencies: ["DSFormats", "DSTensor", "TestSupport"], exclude: ["Golden"]),
        .testTarget(name: "DSTensorTests", dependencies: ["DSTensor", "DSFormats", "CKernels", "TestSupport"], exclude: ["Golden"]),
        .testTarget(name: "DSModelTests", dependencies: ["DSModel", "DSTensor", "DSFormats", "TestSupport"], exclude: ["Golden"]),
        .testTarget(
            name: "DSTokenizerTests",
            dependencies: ["DSTokenizer", "DSFormats", "TestSupport"],
            exclude: ["Golden"]  // read from the source tree (#filePath), not copied into the test bundle
        ),
        .testTarget(name: "DSGenerationTests", dependencies: ["DSGeneration", "DSModel", "DSTokenizer", "DSFormats"], exclude: ["Golden"]),
        .testTarget(
            name: "DSServerTests",
            dependencies: ["DSServer", "DSModel", "DSTokenizer", "DSGeneration", "DSFormats", "TestSupport", .product(name: "HummingbirdTesting", package: "hummingbird")]
        ),
        .testTarget(name: "DSTrainingTests", dependencies: ["DSTraining", "DSModel", "DSFormats", "DSTensor"], exclude: ["Golden"]),
        .testTarget(name: "DSScalingTests", dependencies: ["DSScaling", "DSModel", "DSFormats"]),
        .testTarget(name: "DSEvaluationTests", dependencies: ["DSEvaluation", "DSModel", "DSFormats", "DSTokenizer"]),
        .testTarget(name: "DSAlignmentTests", dependencies: ["DSAlignment", "DSTraining", "DSTokenizer", "DSModel", "DSFormats", "TestSupport"],
                    exclude: ["Golden"]),
        .testTarget(name: "DSDataTests", dependencies: ["DSData", "DSFormats", "DSTokenizer", "TestSupport"], exclude: ["Golden"]),
        .testTarget(name: "CLITests", dependencies: ["dsllm", "DSFormats"]),
    ]
)
