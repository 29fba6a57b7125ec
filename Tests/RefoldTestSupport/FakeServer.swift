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
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw TestSupportError("could not listen on a loopback port")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        port = Int(UInt16(bigEndian: address.sin_port))
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
