import Foundation
import Hummingbird
import NIOCore

/// The request context of `dsllm serve`: Hummingbird's basic one plus the connection's channel, through which a
/// handler finds the connection's `ClientDisconnectWatcher`.
public struct ServerRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// This connection's watcher; nil where there is none (the socket-free router tests).
    func disconnectWatcher() async -> ClientDisconnectWatcher? {
        try? await channel.pipeline.handler(type: ClientDisconnectWatcher.self).get()
    }
}

/// One per connection, in its channel pipeline: notices the client going away — its half of the connection closed
/// (FIN: Hummingbird allows remote half-closure, so the channel itself stays open) or the whole connection gone —
/// and runs what the request in progress registered (cancelling its jobs, which frees their slots at the next
/// scheduler step). A non-streaming response writes nothing until the end, so without this a client that gave up
/// would keep its slot busy to the last token.
final class ClientDisconnectWatcher: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = NIOAny
    typealias InboundOut = NIOAny

    // The event loop sets `closed`; request handlers (other threads) register and clear: hence the lock.
    private let lock = NSLock()
    private var closed = false
    private var onClose: (@Sendable () -> Void)?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { context.fireChannelRead(data) }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? ChannelEvent, case .inputClosed = e { clientLeft() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        clientLeft()
        context.fireChannelInactive()
    }

    private func clientLeft() {
        let action: (@Sendable () -> Void)? = lock.withLock {
            closed = true
            defer { onClose = nil }
            return onClose
        }
        action?()
    }

    var clientHasLeft: Bool { lock.withLock { closed } }

    /// Runs `action` when the client leaves — at once if it already has. One registration at a time: HTTP/1 serves
    /// a connection's requests one after another.
    func whenClientLeaves(_ action: @escaping @Sendable () -> Void) {
        let runNow = lock.withLock {
            if closed { return true }
            onClose = action
            return false
        }
        if runNow { action() }
    }

    /// The request finished: nothing left to cancel.
    func clear() { lock.withLock { onClose = nil } }
}
