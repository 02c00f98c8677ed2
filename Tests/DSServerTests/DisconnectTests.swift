@testable import DSServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A client that goes away over a real socket (the socket-free router tests cannot close a connection).
@Suite struct DisconnectTests {
    /// A plain TCP connection to localhost, as a client that sends a request and later hangs up.
    final class RawConnection {
        let fd: Int32

        init(port: Int) throws {
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var list: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo("localhost", String(port), &hints, &list) == 0, let first = list else { throw POSIXError(.EADDRNOTAVAIL) }
            defer { freeaddrinfo(first) }
            var node: UnsafeMutablePointer<addrinfo>? = first
            while let a = node {
                let s = socket(a.pointee.ai_family, a.pointee.ai_socktype, a.pointee.ai_protocol)
                if s >= 0 && connect(s, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 {
                    fd = s
                    return
                }
                if s >= 0 { close(s) }
                node = a.pointee.ai_next
            }
            throw POSIXError(.ECONNREFUSED)
        }

        func send(_ text: String) {
            let bytes = Array(text.utf8)
            var sent = 0
            while sent < bytes.count {
                let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard n > 0 else { return }
                sent += n
            }
        }

        func hangUp() { close(fd) }
    }

    /// Polls `condition` every 10 ms for up to `seconds` (generous: the machine may be loaded); true if it held.
    static func eventually(within seconds: Double = 300, _ condition: () -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    /// Holds the scheduler before every step while a job asking for `maxTokens` is in a slot and not cancelled, so
    /// that job cannot finish before its client's hang-up is seen. One deadline (300 s: the whole suite runs in
    /// parallel on 2 loaded cores, so a minute can pass before the hang-up is even sent) for the whole test: if the
    /// cancel never comes, the job runs on and the test fails on its expectations instead of hanging.
    static func holdUntilCancelled(maxTokens: Int, on scheduler: Scheduler) {
        let deadline = Date().addingTimeInterval(300)
        scheduler.setBeforeStepForTesting { jobs in
            while jobs.contains(where: { $0.request.parameters.maxTokens == maxTokens && !$0.isCancelled }) && Date() < deadline {
                Thread.sleep(forTimeInterval: 0.002)
            }
        }
    }

    static func requestsCounted(_ server: InferenceServer, status: Int) -> Bool {
        server.metrics.render().contains("dsllm_requests_total{endpoint=\"/v1/completions\",status=\"\(status)\"}")
    }

    /// A non-streaming client that hangs up while its job holds the only slot: the job is cancelled (it generates
    /// nothing), the request is counted as 499, and the slot serves the next client. The scheduler is held before
    /// every step of that job until it is cancelled, so the job cannot finish first and hide a missing cancel.
    @Test func nonStreamingClientThatHangsUpFreesItsSlot() async throws {
        let server = RouteTests.server(slots: 1, queue: 0)
        let held = 77  // max_tokens that marks the job to hold
        Self.holdUntilCancelled(maxTokens: held, on: server.scheduler)
        let app = server.makeApplication(port: 0)
        try await app.test(.live) { client in
            let connection = try RawConnection(port: try #require(client.port))
            let body = #"{"prompt": "Hello", "max_tokens": \#(held), "temperature": 0}"#
            connection.send("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                            + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
            #expect(try await Self.eventually { server.metrics.activeSlotCount == 1 }, "the request reached its slot")
            connection.hangUp()
            #expect(try await Self.eventually { Self.requestsCounted(server, status: 499) }, "the hang-up was noticed")
            #expect(server.metrics.render().contains("dsllm_generated_tokens_total 0\n"), "the job was cancelled before generating")
            #expect(server.metrics.activeSlotCount == 0)
            // The one slot (and no queue) serves the next request at once.
            let next = #"{"prompt": "Hello", "max_tokens": 3, "temperature": 0}"#
            try await client.execute(uri: "/v1/completions", method: .post, body: ByteBuffer(string: next)) { r in
                #expect(r.status == .ok, "\(String(buffer: r.body))")
            }
        }
        server.scheduler.shutdown()
    }

    /// The same for a streaming client that hangs up before its first token.
    @Test func streamingClientThatHangsUpFreesItsSlot() async throws {
        let server = RouteTests.server(slots: 1, queue: 0)
        let held = 78
        Self.holdUntilCancelled(maxTokens: held, on: server.scheduler)
        let app = server.makeApplication(port: 0)
        try await app.test(.live) { client in
            let connection = try RawConnection(port: try #require(client.port))
            let body = #"{"prompt": "Hello", "max_tokens": \#(held), "stream": true}"#
            connection.send("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                            + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
            #expect(try await Self.eventually { server.metrics.activeSlotCount == 1 }, "the request reached its slot")
            connection.hangUp()
            #expect(try await Self.eventually { server.metrics.activeSlotCount == 0 }, "the hang-up freed the slot")
            #expect(server.metrics.render().contains("dsllm_generated_tokens_total 0\n"), "the job was cancelled before generating")
            let next = #"{"prompt": "Hello", "max_tokens": 3, "temperature": 0}"#
            try await client.execute(uri: "/v1/completions", method: .post, body: ByteBuffer(string: next)) { r in
                #expect(r.status == .ok, "\(String(buffer: r.body))")
            }
        }
        server.scheduler.shutdown()
    }
}
