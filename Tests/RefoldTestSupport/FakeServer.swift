import Foundation
import Synchronization

/// A TCP server on a loopback port of its own that answers every connection with one fixed
/// reply and closes it: a stand-in for "the wrong server" (an HTTP server given as Redis).
/// The kernel picks the port while it is bound, so no other process can take it meanwhile.
public final class FakeServer: Sendable {
    public let port: Int
    private let descriptor: Int32
    private final class Flag: Sendable { let raised = Atomic<Bool>(false) }
    private let stopped = Flag()

    public init(reply: String) throws {
        let (fd, bound) = try ListeningSocket.open(backlog: 16)
        port = bound
        descriptor = fd
        let bytes = Array(reply.utf8)
        let thread = Thread { [stopped] in
            while !stopped.raised.load(ordering: .acquiring) {
                let client = accept(fd, nil, nil)
                guard client >= 0 else { continue }
                var buffer = [UInt8](repeating: 0, count: 4096)
                _ = read(client, &buffer, buffer.count)
                _ = bytes.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
                close(client)
            }
        }
        thread.start()
    }

    deinit { stop() }

    public func stop() {
        guard !stopped.raised.exchange(true, ordering: .acquiringAndReleasing) else { return }
        shutdown(descriptor, Int32(SHUT_RDWR))
        close(descriptor)
    }
}
