import DSModel
import Foundation

/// Refuses, before the KV caches are allocated, a context × sequences the machine cannot hold (serve's default of
/// 4 slots × 4096 tokens of a 7B model in f32 is 16 GiB of cache alone).
func checkInferenceMemory(_ config: ModelConfig, positions: Int, sequences: Int = 1, cache: KVCache.Precision,
                          hint: String) throws {
    let estimate = MemoryEstimate.inference(config, positions: positions, sequences: sequences,
                                            cacheBytesPerValue: cache == .f32 ? 4 : 2)
    do { try estimate.check(hint: hint) } catch { throw CLIError(error.description) }
}
