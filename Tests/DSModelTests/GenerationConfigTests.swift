@testable import DSModel
import DSFormats
import Foundation
import Testing

/// generation_config.json beside config.json: its ids win over config.json's, its sampling values become defaults.
@Suite struct GenerationConfigTests {
    func folder(generationConfig: String?) throws -> String {
        let source = TransformersGoldenTests.directory.appendingPathComponent("gqa-odd-ropeparams")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-genconf-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) {
            try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent(name), withDestinationURL: source.appendingPathComponent(name))
        }
        if let generationConfig {
            try Data(generationConfig.utf8).write(to: dir.appendingPathComponent("generation_config.json"))
        }
        return dir.path
    }

    @Test func idsAndSamplingDefaultsAreRead() throws {
        let w = try ModelWeights.load(path: try folder(generationConfig: """
            {"_from_model_config": true, "bos_token_id": 3, "eos_token_id": [4, 7], "do_sample": true,
             "temperature": 0.7, "top_p": 0.95, "transformers_version": "4.33.1"}
            """))
        #expect(w.config.bosTokenID == 3 && w.config.eosTokenID == 4)
        let g = try #require(w.generation)
        #expect(g.eosTokenIDs == [4, 7] && g.defaultTemperature == 0.7 && g.topP == 0.95 && g.topK == nil)
    }

    @Test func doSampleFalseMeansGreedyAndAMissingFileMeansNone() throws {
        let greedy = try ModelWeights.load(path: try folder(generationConfig: #"{"do_sample": false, "temperature": 0.6}"#))
        #expect(greedy.generation?.defaultTemperature == 0)
        #expect(try ModelWeights.load(path: try folder(generationConfig: nil)).generation == nil)
    }

    @Test func wrongTypesNameTheKey() throws {
        for (json, key) in [(#"{"eos_token_id": "two"}"#, "eos_token_id"), (#"{"top_p": 1.5}"#, "top_p"),
                            (#"{"temperature": -1}"#, "temperature"), (#"{"do_sample": 1}"#, "do_sample")] {
            let dir = try folder(generationConfig: json)
            #expect { _ = try ModelWeights.load(path: dir) } throws: { error in
                "\(error)".contains(key) && "\(error)".contains("generation_config.json")
            }
        }
    }
}
