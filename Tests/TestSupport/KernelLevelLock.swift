/// The CKernels level (`KernelISA.current`) is one setting for the whole test process, and suites run in parallel.
/// A test that takes it below AVX2 (where packed models fall back to f32 kernels) holds this lock, and so does every
/// test that compares a packed model's numbers bit for bit across runs, so neither sees the other's level.
/// An actor with a queue of waiters, not a blocking lock: a waiting test must not hold one of the cooperative
/// threads the holder needs to finish.
public actor KernelLevelLock {
    public static let shared = KernelLevelLock()
    private var held = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    private func acquire() async {
        if !held {
            held = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }  // ownership passes straight to us in release()
    }

    private func release() {
        if waiters.isEmpty { held = false } else { waiters.removeFirst().resume() }
    }

    public static func hold<T>(_ body: () async throws -> T) async rethrows -> T {
        await shared.acquire()
        do {
            let result = try await body()
            await shared.release()
            return result
        } catch {
            await shared.release()
            throw error
        }
    }
}
