import Foundation
import RefoldCoordination
import RefoldRunner
@testable import RefoldCLI
import RefoldTestSupport
import Testing

@Suite struct BenchTests {
    @Test func timelineLaysOutOneLanePerWorkerOnOneTimeScale() {
        let results = [
            TaskResult(taskID: "r0", worker: "b", attempt: 1, token: "1", startedMilliseconds: 1_000, finishedMilliseconds: 2_000, events: 1, result: ""),
            TaskResult(taskID: "r1", worker: "a", attempt: 2, token: "2", startedMilliseconds: 1_500, finishedMilliseconds: 3_000, events: 1, result: ""),
            TaskResult(taskID: "r2", worker: "b", attempt: 1, token: "3", startedMilliseconds: 2_000, finishedMilliseconds: 3_000, events: 1, result: ""),
        ]
        let layout = TimelineLayout(results: results, dead: [DeadTask(taskID: "r3", attempts: 3, worker: "a", error: "poison <x>")], title: "t")
        #expect(layout.lanes == ["a", "b"])
        #expect(layout.seconds == 2)
        let bars = Dictionary(uniqueKeysWithValues: layout.bars.map { ($0.task, $0) })
        #expect(bars["r0"]?.lane == 1 && bars["r1"]?.lane == 0)
        #expect(bars["r0"]?.x == TimelineLayout.left)
        #expect(abs((bars["r2"]!.x + bars["r2"]!.width) - (TimelineLayout.width - 20)) < 0.001)
        #expect(bars["r1"]?.retried == true && bars["r0"]?.retried == false)
        let svg = layout.svg()
        #expect(svg.contains("dead: r3 after 3 attempt(s): poison &lt;x&gt;"))
        #expect(svg.contains("#f0a030"))
    }

    @Test func timelineHasATimeAxisAndTheCoordinatorsStepsOnTheirOwnLane() {
        let at = { (ms: Int64) in Date(timeIntervalSince1970: Double(ms) / 1000) }
        let phases = [
            DistributedRebuild.Phase("plan", from: at(10_000), to: at(10_100)),
            DistributedRebuild.Phase("start a private Redis", from: at(10_100), to: at(10_130)),
            DistributedRebuild.Phase("wait for the join", from: at(10_150), to: at(11_150)),
            DistributedRebuild.Phase("swap", from: at(11_150), to: at(11_200)),
        ]
        let results = [
            TaskResult(taskID: "r0", worker: "w1", attempt: 1, token: "1", startedMilliseconds: 10_200, finishedMilliseconds: 11_100, events: 1, result: ""),
            TaskResult(taskID: "r1", worker: "w2", attempt: 1, token: "2", startedMilliseconds: 10_210, finishedMilliseconds: 11_140, events: 1, result: ""),
        ]
        let layout = TimelineLayout(results: results, dead: [], title: "t", phases: phases)
        // The run spans the first step to the last, not only the tasks.
        #expect(abs(layout.seconds - 1.2) < 1e-9)
        #expect(layout.phases.first?.x == TimelineLayout.left)
        #expect(abs((layout.phases.last!.x + layout.phases.last!.width) - (TimelineLayout.width - 20)) < 0.001)
        // A task starting 0.2 s in sits a sixth of the way along.
        let r0 = layout.bars.first { $0.task == "r0" }!
        #expect(abs(r0.x - (TimelineLayout.left + (TimelineLayout.width - TimelineLayout.left - 20) / 6)) < 0.001)
        // Round ticks from 0 to the end: 0, 0.2, … 1.2 s.
        #expect(layout.ticks.map(\.seconds).count == 7)
        #expect(abs(layout.ticks.last!.seconds - 1.2) < 1e-9)
        let svg = layout.svg()
        for text in ["coordinator", ">0 s<", ">0.2 s<", ">1.2 s<", "seconds", "plan 0.1 s", "start a private Redis 0.03 s", "swap 0.05 s"] {
            #expect(svg.contains(text), "missing \(text)")
        }
        #expect(TimelineLayout.format(2) == "2 s" && TimelineLayout.format(0.125) == "0.125 s")
    }

    @Test func benchRunsEndToEndAndComparesWithABaseline() throws {
        let directory = try TemporaryDirectory.make()
        let saved = directory.appendingPathComponent("baseline.json").path
        let timeline = directory.appendingPathComponent("timeline.svg").path
        let common = ["bench", "--size", "20000", "--aggregates", "400", "--repeat", "1", "--workers", "2", "--cache", directory.path, "--timeline", timeline, "--seed-events", "2000"]
        let first = try RefoldRun.run(common + ["--json", "--save", saved], timeout: 300)
        #expect(first.code == 0, "\(first.stderr)")
        let report = try RefoldRun.json(first.stdout)
        #expect(report["events"] as? Int == 20000)
        for key in ["floor_seconds", "inline_seconds", "parallel", "verify_seconds", "coordination_tasks_per_second", "ratios", "seed_replay"] {
            #expect(report[key] != nil, "missing \(key)")
        }
        #expect((report["parallel"] as? [Any])?.count == 2)
        let ratios = try #require(report["ratios"] as? [String: Double])
        #expect(Set(ratios.keys) == ["inline_vs_floor", "verify_vs_floor", "coordination_vs_ping", "parallel_1_vs_floor", "parallel_2_vs_floor", "scaling_2",
                                     "seed_vs_parallel_1", "seed_vs_parallel_2", "catchup_inline_vs_floor", "catchup_parallel_vs_floor", "catchup_live_vs_floor"])
        // The catch-up figures: the last 10 % of the table (2000 events), three ways, each timed.
        let catchup = try #require(report["catchup"] as? [String: Any])
        #expect(catchup["delta_events"] as? Int == 2000)
        for key in ["inline_events_per_second", "parallel_events_per_second", "live_events_per_second"] {
            #expect((catchup[key] as? Double ?? 0) > 0, "\(key)")
        }
        let seed = try #require(report["seed_replay"] as? [String: Any])
        #expect(seed["events"] as? Int == 2000 && (seed["events_per_second"] as? Double ?? 0) > 0)
        #expect(report["engine"] as? String == "SQLite")
        #expect(FileManager.default.fileExists(atPath: timeline))

        // A baseline claiming everything was ten times better is a regression: exit 1, named.
        var text = try String(contentsOfFile: saved, encoding: .utf8)
        for (name, value) in ratios where name.hasSuffix("_vs_floor") {
            text = text.replacingOccurrences(of: "\"\(name)\": {\"value\": \(value)", with: "\"\(name)\": {\"value\": \(value / 10)")
        }
        let better = directory.appendingPathComponent("better.json").path
        try text.write(toFile: better, atomically: true, encoding: .utf8)
        let compared = try RefoldRun.run(common + ["--baseline", better], timeout: 300)
        #expect(compared.code == 1, "\(compared.stderr)")
        #expect(compared.stdout.contains("REGRESSION past 15%"))
        #expect(compared.stdout.contains("inline_vs_floor"))

        // A baseline of another size is refused before anything is measured (it would flag a
        // regression that is only the difference in data).
        let otherSize = try RefoldRun.run(["bench", "--size", "30000", "--aggregates", "400", "--workers", "2", "--cache", directory.path, "--baseline", saved])
        #expect(otherSize.code == 2, "\(otherSize.stderr)")
        #expect(otherSize.stderr.contains("dataset generated 20000/400/skew 0.0") && otherSize.stderr.contains("--save a new baseline"), "\(otherSize.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("bench-30000-400-0.0.db").path), "nothing generated")

        let broken = directory.appendingPathComponent("broken.json").path
        try "not json".write(toFile: broken, atomically: true, encoding: .utf8)
        let bad = try RefoldRun.run(["bench", "--baseline", broken])
        #expect(bad.code == 2)
        #expect(bad.stderr.contains("is not a refold bench result"))
    }

    @Test func scaleReportsGrowthAndDrawsTheCurve() throws {
        let directory = try TemporaryDirectory.make()
        let plot = directory.appendingPathComponent("scale.svg").path
        let result = try RefoldRun.run(["bench", "--scale", "--scale-sizes", "2000:50,8000:50,8000:10", "--repeat", "1", "--workers", "2",
                                        "--cache", directory.path, "--plot", plot], timeout: 300)
        #expect(result.code == 0, "\(result.stderr)")
        #expect(result.stdout.contains("8000 ev / 50 agg"))
        #expect(result.stdout.contains("4× the events took"))
        #expect(try String(contentsOfFile: plot, encoding: .utf8).contains("<polyline"))
    }
}
