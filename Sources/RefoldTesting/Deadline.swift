import Foundation

/// Polls a condition until it holds or a deadline passes — never sleep-and-hope.
public enum Deadline {
    public static func wait(seconds: Double, _ what: String, poll: Double = 0.01, _ condition: () throws -> Bool) throws {
        let end = Date().addingTimeInterval(seconds)
        let pause = DispatchSemaphore(value: 0)  // never signalled: a timed wait between polls
        while Date() < end {
            if try condition() { return }
            _ = pause.wait(timeout: .now() + poll)
        }
        if try condition() { return }
        throw TestingError("timed out after \(seconds)s waiting for \(what)")
    }
}
