import DSModel
@testable import DSTraining
import Foundation
import Testing

/// `dsllm plan`'s arithmetic against published numbers and hand-checkable identities.
@Suite struct ParallelismPlanTests {
    func plan(_ c: ModelConfig, _ change: (inout ParallelismPlan.Setup) -> Void) -> ParallelismPlan {
        var s = ParallelismPlan.Setup()
        change(&s)
        return ParallelismPlan(config: c, setup: s)
    }

    @Test func oneDeviceHoldsTheWholeModelAtEighteenBytesPerParameter() {
        for c in [ModelConfig.deepseekLLM7B, ModelConfig.deepseekLLM67B] {
            let p = plan(c) { $0.devices = 1; $0.globalBatch = 8 }
            #expect(p.parametersPerDevice == c.parameterCount)
            // bf16 weights + fp32 grads + fp32 master/m/v: Megatron's 18 bytes per parameter without sharding.
            #expect(p.weightBytes + p.gradientBytes + p.optimizerBytes == 18 * Double(c.parameterCount))
            #expect(p.communicationBytes == 0)
        }
        #expect(ModelConfig.deepseekLLM7B.parameterCount == 6_910_365_696)
        #expect(ModelConfig.deepseekLLM67B.parameterCount == 67_425_001_472)
    }

    @Test func zeroOneShardsTheOptimizerAndCostsOneAndAHalfAllReduces() {
        let c = ModelConfig.deepseekLLM7B
        let p = plan(c) { $0.devices = 64 }
        #expect(p.setup.data == 64)
        #expect(abs(p.optimizerBytes - 12 * Double(c.parameterCount) / 64) < 1)   // 6 + 12/d bytes per parameter
        // reduce-scatter fp32 + all-gather bf16 = (d−1)/d · 6 bytes per parameter.
        #expect(abs(p.dataParallelBytes - 63.0 / 64 * 6 * Double(c.parameterCount)) < 1e3)
        let replicated = plan(c) { $0.devices = 64; $0.zero = 0 }
        #expect(replicated.optimizerBytes == 12 * Double(c.parameterCount))
    }

    @Test func modelScaleMatchesThePapersTable3() {
        // (layers, d_model, M) from DeepSeek LLM Table 3 (n_vocab 102400, l_seq 4096).
        for (l, d, m) in [(8, 512, 352e6), (12, 768, 963e6), (24, 2048, 9.66e9), (32, 4096, 45.1e9), (80, 8192, 419e9)] {
            let c = ModelConfig(vocabularySize: 102400, hiddenSize: d, intermediateSize: 4 * d, layerCount: l, headCount: 8,
                                kvHeadCount: 8, maxPositions: 4096)
            let M = plan(c) { $0.sequence = 4096 }.flopsPerToken
            #expect(abs(M - m) / m < 0.01, "\(l)×\(d): \(M) vs \(m)")
        }
    }

    @Test func splittingDividesWhatItShould() {
        let c = ModelConfig.deepseekLLM67B
        let a = plan(c) { $0.devices = 8; $0.globalBatch = 64 }
        let t8 = plan(c) { $0.devices = 8; $0.tensor = 8; $0.globalBatch = 64 }
        let p5 = plan(c) { $0.devices = 5; $0.pipeline = 5; $0.globalBatch = 64 }
        #expect(t8.invalidReason == nil && p5.invalidReason == nil)
        #expect(abs(Double(t8.parametersPerDevice) / Double(a.parametersPerDevice) - 1.0 / 8) < 0.001)
        #expect(p5.layersPerStage == 19)
        // Full recomputation keeps one bf16 hidden state per token and layer.
        let full = plan(c) { $0.devices = 1; $0.globalBatch = 1; $0.recompute = .full; $0.microBatch = 2 }
        #expect(full.activationBytes == Double(95 * 2 * 2 * 4096 * 8192))
        #expect(plan(c) { $0.tensor = 3 }.invalidReason != nil)
    }
}
