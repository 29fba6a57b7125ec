import Foundation

/// Monotonic seconds for lease bookkeeping (never wall-clock time).
public enum MonotonicClock {
    public static func seconds() -> Double {
        Double(DispatchTime.now().uptimeNanoseconds) / 1_000_000_000
    }
}
