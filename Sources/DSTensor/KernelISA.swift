import CKernels
import Foundation

/// The instruction-set level the integer kernels of CKernels run at: the highest this CPU supports, found once at
/// start-up from cpuid/xgetbv, unless `DSLLM_ISA=none|avx2|avx512|amx` asks for a lower one (tests and benchmarks run
/// the AVX2 path on an AVX-512 machine that way). Below AVX2 nothing is repacked and the Swift f32 kernels run.
public enum KernelISA: Int, Comparable, CaseIterable, Sendable, CustomStringConvertible {
    case none = 0, avx2, avx512, amx

    /// What the CPU and OS allow.
    public static var detected: KernelISA { KernelISA(rawValue: Int(ck_isa_detected())) ?? .none }

    /// The level in use; setting it clamps to `detected`.
    public static var current: KernelISA {
        get { _ = environmentApplied; return KernelISA(rawValue: Int(ck_isa())) ?? .none }
        set { _ = environmentApplied; ck_set_isa(Int32(newValue.rawValue)) }
    }

    /// Levels this machine can run, lowest first (what the test suite iterates over).
    public static var available: [KernelISA] { allCases.filter { $0 <= detected } }

    /// Whether vdpbf16ps is usable at the current level.
    public static var hasBF16: Bool { _ = environmentApplied; return ck_has_avx512_bf16() != 0 }

    public var description: String { ["none", "avx2", "avx512", "amx"][rawValue] }

    public init?(name: String) {
        guard let level = KernelISA.allCases.first(where: { $0.description == name.lowercased() }) else { return nil }
        self = level
    }

    public static func < (a: KernelISA, b: KernelISA) -> Bool { a.rawValue < b.rawValue }

    /// DSLLM_ISA, read once. An unknown name is reported on stderr and ignored (the detected level stays).
    private static let environmentApplied: Bool = {
        if let name = ProcessInfo.processInfo.environment["DSLLM_ISA"], !name.isEmpty {
            if let level = KernelISA(name: name) {
                ck_set_isa(Int32(level.rawValue))
            } else {
                FileHandle.standardError.write(Data("dsllm: DSLLM_ISA=\(name) is not one of none, avx2, avx512, amx; using \(KernelISA(rawValue: Int(ck_isa()))!)\n".utf8))
            }
        }
        return true
    }()
}
