import RefoldCoordination
import RefoldCore
import RefoldRunner
import Testing

/// The coordinator accepts a completed task only when its result matches the plan.
@Suite struct RebuildResultCheckTests {
    let check = RebuildResultCheck(job: "job-1", expectations: [
        "r00000": .init(range: AggregateRange(lower: nil, upper: Array("m".utf8), estimatedEvents: 100), events: 120),
    ])

    func result(_ text: String, events: Int64 = 120, task: String = "r00000") -> TaskResult {
        TaskResult(taskID: task, worker: "php:7", attempt: 1, token: "1", startedMilliseconds: 0, finishedMilliseconds: 10, events: events, result: text)
    }

    static let good = #"{"kind":"rebuild","job":"job-1","task":"r00000","events":120,"aggregates":10,"rows":9,"quarantined":1,"seconds":0.5,"rss_kb":100}"#

    @Test func aRebuildWorkersResultPasses() throws {
        let parsed = try check.check(result(Self.good), stored: .init(rows: 9, quarantined: 1)).get()
        #expect(parsed.rows == 9 && parsed.events == 120 && parsed.peakRSSKilobytes == 100 && parsed.seconds == 0.5)
    }

    @Test func theWorkersOwnOutputParsesBack() throws {
        let summary = TaskSummary(events: 120, aggregates: 10, rows: 9, quarantined: [QuarantineRecord(aggregate: "a", version: 1, position: 1, code: .versionGap, reason: "r")], seconds: 1.25, peakRSSKilobytes: 7)
        let parsed = try RebuildTaskResult.parse(summary.resultJSON(job: "job-1", task: "r00000"), job: "job-1", task: "r00000").get()
        #expect(parsed == RebuildTaskResult(events: 120, aggregates: 10, rows: 9, quarantined: 1, seconds: 1.25, peakRSSKilobytes: 7))
    }

    struct Case: Sendable, CustomStringConvertible {
        let name: String
        let text: String
        var events: Int64 = 120
        var rows: Int64 = 9
        var quarantined: Int64 = 1
        let reason: String
        var description: String { name }
    }

    static let bad: [Case] = [
        Case(name: "not JSON", text: "ok", reason: "not a JSON object"),
        Case(name: "an empty object", text: "{}", reason: "not a rebuild result"),
        Case(name: "another kind", text: #"{"kind":"noop"}"#, reason: "kind \"noop\""),
        Case(name: "another job", text: good.replacingOccurrences(of: "job-1", with: "job-2"), reason: "names job job-2"),
        Case(name: "another task", text: good.replacingOccurrences(of: "\"r00000\"", with: "\"r00009\""), reason: "task r00009"),
        Case(name: "counts as text", text: good.replacingOccurrences(of: "\"rows\":9", with: "\"rows\":\"9\""), reason: "non-negative integer"),
        Case(name: "negative", text: good.replacingOccurrences(of: "\"rows\":9", with: "\"rows\":-1"), reason: "non-negative integer"),
        Case(name: "more rows than aggregates", text: good.replacingOccurrences(of: "\"rows\":9", with: "\"rows\":11"), rows: 11, reason: "contradict"),
        Case(name: "zero events", text: good.replacingOccurrences(of: "\"events\":120", with: "\"events\":0").replacingOccurrences(of: "\"aggregates\":10", with: "\"aggregates\":0").replacingOccurrences(of: "\"rows\":9", with: "\"rows\":0").replacingOccurrences(of: "\"quarantined\":1", with: "\"quarantined\":0"), events: 0, rows: 0, quarantined: 0, reason: "folded 0 events but its range holds 120"),
        Case(name: "rows not in the shadow", text: good, rows: 0, reason: "reported 9 rows but the shadow table holds 0"),
        Case(name: "quarantines not recorded", text: good, quarantined: 0, reason: "reported 1 quarantined aggregates but 0 are recorded"),
    ]

    @Test(arguments: bad)
    func aResultThatDoesNotMatchThePlanIsRejected(_ bad: Case) {
        switch check.check(result(bad.text, events: bad.events), stored: .init(rows: bad.rows, quarantined: bad.quarantined)) {
        case .success: Issue.record("\(bad.name) was accepted")
        case .failure(let problem): #expect(problem.description.contains(bad.reason), "\(problem)")
        }
    }

    @Test func theProtocolRecordMustAgreeToo() {
        // The result text is right but complete.lua recorded another event count.
        if case .success = check.check(result(Self.good, events: 3), stored: .init(rows: 9, quarantined: 1)) {
            Issue.record("a completion whose recorded events differ was accepted")
        }
        if case .success = check.check(result(Self.good, task: "r00042"), stored: .init(rows: 9, quarantined: 1)) {
            Issue.record("an unplanned task was accepted")
        }
    }
}
