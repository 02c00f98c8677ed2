@testable import DSModel
import DSFormats
import Foundation
import Testing

/// The official repos' layout (tools/golden/make_hub_fixture.py, torch 2.15 + transformers 5.24): bf16 `.bin` shards with
/// pytorch_model.bin.index.json, and one f32 pytorch_model.bin, each with generation_config.json.
@Suite struct HubCheckpointTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/hub-bin")

    struct Golden: Decodable {
        struct Reference: Decodable { var mean_nll: Double; var greedy: [Int32]; var greedy_min_margin: Double }
        var prompts: [[Int32]]
        var reference: [Reference]
    }

    static let golden: Golden = {
        let data = try! Data(contentsOf: directory.appendingPathComponent("golden.json"))
        return try! JSONDecoder().decode(Golden.self, from: data)
    }()

    @Test(arguments: ["bf16-sharded", "f32-single"])
    func binFoldersMatchTransformers(_ folder: String) throws {
        let w = try ModelWeights.load(path: Self.directory.appendingPathComponent(folder).path)
        #expect(w.layers[0].wq.type == (folder == "f32-single" ? .f32 : .bf16))
        // generation_config.json (bos 300, eos [301, 2]) wins over config.json's 1 / 2, as for the real base repos.
        #expect(w.config.bosTokenID == 300 && w.config.eosTokenID == 301)
        #expect(w.generation?.temperature == 0.7 && w.generation?.topP == 0.95)
        for (p, ids) in Self.golden.prompts.enumerated() {
            let ref = Self.golden.reference[p]
            let nll = Transformer(weights: w).meanNLL(ids)
            #expect(abs(nll - ref.mean_nll) / ref.mean_nll < 1e-4, "\(folder) prompt \(p): \(nll) vs \(ref.mean_nll)")
            if ref.greedy_min_margin > 1e-3 {
                #expect(Transformer(weights: w).greedy(prompt: ids, count: 8) == ref.greedy, "\(folder) prompt \(p) greedy")
            }
        }
    }

    /// .bin → safetensors → GGUF → safetensors in bf16 keeps every tensor's bytes, and the .bin's own bytes.
    @Test func bf16RoundTripIsBitExact() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-hub-rt-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = Self.directory.appendingPathComponent("bf16-sharded").path
        let st = dir.appendingPathComponent("st").path, gguf = dir.appendingPathComponent("m.gguf").path
        let back = dir.appendingPathComponent("back").path
        try ModelExport.writeSafetensors(try ModelWeights.load(path: source), type: .bf16, directory: st)
        try ModelExport.writeGGUF(try ModelWeights.load(path: st), type: .bf16, to: gguf, extraMetadata: [])
        try ModelExport.writeSafetensors(try ModelWeights.load(path: gguf, numerics: .reference), type: .bf16, directory: back)
        let bin = try TorchCheckpoint(path: source), a = try SafetensorsCheckpoint(directory: st)
        let b = try SafetensorsCheckpoint(directory: back)
        #expect(bin.tensors.count == 21)
        for t in bin.tensors {
            let x = try #require(bin.data(t.name)), y = try #require(a.data(t.name)), z = try #require(b.data(t.name))
            #expect(Array(x) == Array(y) && Array(y) == Array(z), "\(t.name)")
        }
    }
}
