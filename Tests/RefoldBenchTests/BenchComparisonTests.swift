import RefoldBench
import RefoldCore
import Testing

@Suite struct BenchComparisonTests {
    let ratios = [
        BenchRatio(name: "inline_vs_floor", value: 6.5, higherIsBetter: false),
        BenchRatio(name: "scaling_2", value: 1.75, higherIsBetter: true),
    ]

    @Test func figuresReportMedianMinMax() {
        let figure = BenchFigure(name: "x", samples: [3, 1, 2, 10])
        #expect(figure.median == 2.5)
        #expect(figure.min == 1)
        #expect(figure.max == 10)
    }

    @Test func baselineRoundTripsThroughItsFile() throws {
        let baseline = BenchBaseline(ratios: ratios, context: ["events": "1000000", "note": "quote \" and \\ kept"])
        let decoded = try BenchBaseline(decoding: baseline.encoded())
        #expect(decoded.ratios.sorted { $0.name < $1.name } == ratios.sorted { $0.name < $1.name })
        #expect(decoded.context == baseline.context)
    }

    @Test(arguments: [
        ("{}", "it has no \"version\": 1"),
        ("[1]", "it is not a JSON object"),
        (#"{"version":1}"#, "it has no \"ratios\" object"),
        (#"{"version":1,"ratios":{"a":{"value":"x","better":"lower"}}}"#, "ratio \"a\" has no numeric \"value\""),
        (#"{"version":1,"ratios":{"a":{"value":1.5,"better":"up"}}}"#, "ratio \"a\" needs \"better\": \"higher\" or \"lower\""),
    ])
    func badBaselinesSayWhatIsWrong(_ text: String, _ reason: String) {
        let error = #expect(throws: BenchBaselineError.self) { try BenchBaseline(decoding: Array(text.utf8)) }
        #expect(error?.description == reason)
    }

    @Test func regressionsRespectDirectionAndTolerance() {
        let baseline = BenchBaseline(ratios: ratios)
        // Within 15 % both ways: no regression.
        #expect(baseline.regressions(in: [
            BenchRatio(name: "inline_vs_floor", value: 7.4, higherIsBetter: false),
            BenchRatio(name: "scaling_2", value: 1.5, higherIsBetter: true),
        ], tolerance: 0.15).isEmpty)
        // Slower by 20 % (lower is better), less scaling by 20 % (higher is better): both flagged.
        let found = baseline.regressions(in: [
            BenchRatio(name: "inline_vs_floor", value: 7.8, higherIsBetter: false),
            BenchRatio(name: "scaling_2", value: 1.4, higherIsBetter: true),
            BenchRatio(name: "new_figure", value: 100, higherIsBetter: false),
        ], tolerance: 0.15)
        #expect(found.map(\.name) == ["inline_vs_floor", "scaling_2"])
        #expect(found.first?.description.contains("20% worse") == true)
        // Improvements are never regressions.
        #expect(baseline.regressions(in: [BenchRatio(name: "inline_vs_floor", value: 1, higherIsBetter: false)], tolerance: 0).isEmpty)
    }

    @Test func toleranceSpellings() {
        #expect(BenchBaseline.tolerance("15%") == 0.15)
        #expect(BenchBaseline.tolerance("0.2") == 0.2)
        #expect(BenchBaseline.tolerance("-5%") == nil)
        #expect(BenchBaseline.tolerance("lots") == nil)
    }
}

@Suite struct BenchBaselineMismatchTests {
    @Test func aBaselineOfAnotherDatasetSizeOrWorkerCountIsNotComparable() {
        let baseline = BenchBaseline(ratios: [], context: ["dataset": "generated 1000000/20000/skew 0.0", "events": "1000000", "workers": "2"])
        #expect(baseline.mismatch(with: ["dataset": "generated 1000000/20000/skew 0.0", "events": "1000000", "workers": "2", "cores": "8"]) == nil)
        #expect(baseline.mismatch(with: ["dataset": "generated 100000/20000/skew 0.0"])?.contains("dataset generated 1000000/20000/skew 0.0") == true)
        #expect(baseline.mismatch(with: ["dataset": "generated 1000000/20000/skew 0.0", "events": "999990"])?.contains("events") == true)
        #expect(baseline.mismatch(with: ["workers": "4"])?.contains("workers 2") == true)
        // An old baseline without context compares with anything.
        #expect(BenchBaseline(ratios: [], context: [:]).mismatch(with: ["dataset": "x", "events": "1"]) == nil)
    }
}
