import Metrics

/// A worker's counters and timings, through swift-metrics (the executable picks the backend).
/// Handles are made once and reused.
///
/// - `refold_worker_tasks_total{outcome}`: tasks by how they ended — `completed`, `failed`,
///   `released` (handed back), `abandoned` (lease lost), `stale` (completion rejected).
/// - `refold_worker_events_total`: events of completed tasks.
/// - `refold_worker_task_seconds`: time in the handler per task.
struct WorkerMetrics: Sendable {
    enum Outcome: String, CaseIterable {
        case completed, failed, released, abandoned, stale
    }

    static let tasksLabel = "refold_worker_tasks_total"
    let tasks: [Outcome: Counter]
    let events = Counter(label: "refold_worker_events_total")
    let taskSeconds = Metrics.Timer(label: "refold_worker_task_seconds")

    init() {
        var tasks: [Outcome: Counter] = [:]
        for outcome in Outcome.allCases { tasks[outcome] = Counter(label: Self.tasksLabel, dimensions: [("outcome", outcome.rawValue)]) }
        self.tasks = tasks
    }

    func count(_ outcome: Outcome) {
        tasks[outcome]?.increment()
    }
}
