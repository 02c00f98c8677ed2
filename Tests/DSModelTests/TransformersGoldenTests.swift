import DSFormats
import DSModel
import Foundation
import Testing

/// Tiny random LlamaForCausalLM models and their outputs from transformers (tools/golden/make_model_golden.py):
/// MHA and GQA, f32 and bf16 weights, an explicit head_dim ≠ hidden/heads, the newer `rope_parameters`
/// config form, tied embeddings.
@Suite struct TransformersGoldenTests {
    struct Prompt: Decodable { var ids: [Int32]; var logits: [[Float]]; var mean_nll: Double; var greedy: [Int32] }
    struct Golden: Decodable { var prompts: [Prompt] }

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
    static let models = ["mha-f32", "gqa-bf16", "gqa-odd-ropeparams", "tied-f32"]

    @Test(arguments: models)
    func matchesTransformers(_ name: String) throws {
        let dir = Self.directory.appendingPathComponent(name)
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: dir.appendingPathComponent("golden.json")))
        let weights = try ModelWeights.load(path: dir.path)
        let model = Transformer(weights: weights)
        for p in golden.prompts {
            model.reset()
            var worst = 0.0
            for (t, id) in p.ids.enumerated() {
                let logits = model.forward(token: id, position: t)
                let expected = p.logits[t]
                let scale = Double(expected.map { abs($0) }.max() ?? 1)
                for (a, b) in zip(logits, expected) { worst = max(worst, Double(abs(a - b)) / scale) }
            }
            #expect(worst < 1e-4, "\(name): logits differ by \(worst) relative to the largest logit")
            let nll = model.meanNLL(p.ids)
            #expect(abs(nll - p.mean_nll) / p.mean_nll < 1e-5, "\(name): mean NLL \(nll) vs \(p.mean_nll)")
            #expect(model.greedy(prompt: p.ids, count: p.greedy.count) == p.greedy, "\(name): greedy continuation")
        }
    }
}

@Suite struct ModelConfigTests {
    @Test func presetsHaveThePapersParameterCounts() {
        #expect(ModelConfig.deepseekLLM7B.parameterCount == 6_910_365_696)
        #expect(ModelConfig.deepseekLLM67B.parameterCount == 67_425_001_472)
        #expect(ModelConfig.deepseekLLM67B.kvDim == 1024)
    }

    func write(_ json: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-cfg-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("config-\(UUID().uuidString.prefix(6)).json").path
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func readsDeepSeekConfigsInBothRopeForms() throws {
        let base = #"{"architectures":["LlamaForCausalLM"],"bos_token_id":1,"eos_token_id":2,"hidden_act":"silu","hidden_size":4096,"initializer_range":0.02,"intermediate_size":11008,"max_position_embeddings":4096,"model_type":"llama","num_attention_heads":32,"num_hidden_layers":30,"num_key_value_heads":32,"pretraining_tp":1,"rms_norm_eps":1e-06,"rope_scaling":null,"rope_theta":10000.0,"tie_word_embeddings":false,"torch_dtype":"bfloat16","transformers_version":"4.33.1","use_cache":true,"vocab_size":102400}"#
        let c = try ModelConfig.load(configJSON: try write(base))
        #expect(c == ModelConfig.deepseekLLM7B)  // base configs' 1/2 become 100000/100001
        let nested = base.replacingOccurrences(of: #""rope_theta":10000.0"#, with: #""rope_parameters":{"rope_theta":500000.0,"rope_type":"default"}"#)
        #expect(try ModelConfig.load(configJSON: try write(nested)).ropeTheta == 500000)
    }

    @Test func badConfigsNameTheField() throws {
        let cases: [(String, String)] = [
            (#"{"hidden_size": 64}"#, "num_attention_heads"),
            (#"{"model_type": "mistral"}"#, "model_type"),
            (#"{"vocab_size": 10, "hidden_size": 64, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 3}"#, "num_key_value_heads"),
            (#"{"vocab_size": 10, "hidden_size": 60, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 4, "head_dim": 15}"#, "head_dim"),
            (#"{"vocab_size": 10, "hidden_size": 64, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 4, "rope_scaling": {"type": "linear"}}"#, "rope_scaling"),
            (#"{"vocab_size": "many", "hidden_size": 64, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 4}"#, "vocab_size"),
        ]
        for (json, field) in cases {
            let path = try write(json)
            #expect { try ModelConfig.load(configJSON: path) } throws: { ($0 as? FormatError)?.field == field }
        }
    }

    @Test func readsGGUFHyperparameters() throws {
        // The vocabulary GGUF carries the 7B's llama.* keys.
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/DSTokenizer/Resources/ggml-vocab-deepseek-llm.gguf").path
        let c = try ModelConfig.load(gguf: try GGUFFile(path: path))
        #expect(c.hiddenSize == 4096 && c.layerCount == 30 && c.headCount == 32 && c.kvHeadCount == 32)
        #expect(c.intermediateSize == 11008 && c.vocabularySize == 102400 && c.ropeTheta == 10000 && c.headDim == 128)
        #expect(c.bosTokenID == 100000 && c.eosTokenID == 100001)
    }
}
