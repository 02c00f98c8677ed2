@testable import DSData
import Foundation

/// The golden corpus and datatrove's decisions on it (tools/golden/make_data_golden.py, datatrove 0.10.1).
enum Golden {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    nonisolated(unsafe) static let json: [String: Any] = {
        let data = try! Data(contentsOf: directory.appendingPathComponent("datatrove-golden.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    nonisolated(unsafe) static let corpus: [[String: Any]] = {
        let text = try! String(contentsOf: directory.appendingPathComponent("corpus.jsonl"), encoding: .utf8)
        return text.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }()

    static var texts: [String] { corpus.map { $0["text"] as! String } }
    static var docs: [[String: Any]] { json["docs"] as! [[String: Any]] }

    static func temporaryDirectory(_ name: String) -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("dsllm-data-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try! FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d.path
    }
}
