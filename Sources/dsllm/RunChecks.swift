import DSFormats
import DSModel
import DSTraining
import Foundation

// The checks a command makes before it allocates or writes anything: the run folder's rule and the memory it needs.

/// The run-folder rule for the training commands (`train`, `sft`, `dpo`), checked without touching anything: the
/// intent from --resume / --overwrite, a folder holding a run refused without either (`checkFolder`: false on the
/// data-parallel ranks that do not write), and --resume without a finished checkpoint in any of
/// `checkpointFolders` refused. The caller prepares the folder for real (RunFolder.prepare) once its other checks pass.
func checkTrainingRunFolder(_ out: String, resume: Bool, overwrite: Bool, checkpointFolders: [String],
                            checkFolder: Bool = true) throws -> RunFolder.Intent {
    let intent: RunFolder.Intent
    do {
        intent = try RunFolder.intent(resume: resume, overwrite: overwrite)
        if checkFolder { try RunFolder.prepare(out, intent: intent, dryRun: true) }
    } catch { throw CLIError(error.description) }
    if resume && !checkpointFolders.contains(where: { !Checkpoint.list($0).isEmpty }) {
        throw CLIError("--resume: \(out) holds no finished checkpoint (step-NNNNNNNN/); run without --resume to start a new run")
    }
    return intent
}

/// Prepares a run folder for real (created, or emptied on --overwrite), as a CLI error.
func makeRunFolder(_ out: String, intent: RunFolder.Intent) throws {
    do { try RunFolder.prepare(out, intent: intent) } catch { throw CLIError(error.description) }
}

/// Refuses, as a CLI error, an estimate the machine cannot hold now.
func checkMemory(_ estimate: MemoryEstimate, hint: String) throws {
    do { try estimate.check(hint: hint) } catch { throw CLIError(error.description) }
}

/// Refuses, before the KV caches are allocated, a context × sequences the machine cannot hold (serve's default of
/// 4 slots × 4096 tokens of a 7B model in f32 is 16 GiB of cache alone).
func checkInferenceMemory(_ config: ModelConfig, positions: Int, sequences: Int = 1, cache: KVCache.Precision,
                          hint: String) throws {
    try checkMemory(MemoryEstimate.inference(config, positions: positions, sequences: sequences,
                                             cacheBytesPerValue: cache == .f32 ? 4 : 2), hint: hint)
}
