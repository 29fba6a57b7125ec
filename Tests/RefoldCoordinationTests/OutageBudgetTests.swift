import RefoldCoordination
import RefoldRedis
import Testing

/// Retries within an outage budget: what is retried, and when the budget gives up.
@Suite struct OutageBudgetTests {
    static let loading = CoordinationError(RedisError(.server, "Redis rejected EVALSHA: LOADING Redis is loading the dataset in memory", serverMessage: "LOADING Redis is loading the dataset in memory"))
    static let refused = CoordinationError(RedisError(.unreachable, "could not reach Redis at 127.0.0.1:1: connection refused"))
    static let wrong = CoordinationError(RedisError(.server, "ERR wrong", serverMessage: "ERR wrong"))

    @Test func aTransientReplyIsRetriedUntilItClears() throws {
        var calls = 0
        var told: [Double] = []
        let value = try OutageBudget(seconds: 60).run(onRetry: { _, since in told.append(since) }) { () throws(CoordinationError) -> Int in
            calls += 1
            if calls < 3 { throw Self.loading }
            return 42
        }
        #expect(value == 42)
        #expect(calls == 3)
        #expect(told.count == 2)
    }

    @Test func aFinalErrorIsThrownAtOnce() {
        var calls = 0
        #expect(throws: CoordinationError.self) {
            try OutageBudget(seconds: 60).run { () throws(CoordinationError) in
                calls += 1
                throw Self.wrong
            }
        }
        #expect(calls == 1)
    }

    @Test func oneShotCommandsDoNotWaitForAnAddressWhereNothingListens() {
        var calls = 0
        let error = #expect(throws: CoordinationError.self) {
            try OutageBudget(seconds: 60, retryUnreachable: false).run { () throws(CoordinationError) in
                calls += 1
                throw Self.refused
            }
        }
        #expect(calls == 1)
        #expect(error?.isUnreachable == true)
        #expect(OutageBudget(seconds: 60, retryUnreachable: false).retries(Self.loading))
        #expect(OutageBudget(seconds: 60).retries(Self.refused))
    }

    @Test func anExhaustedBudgetThrowsTheLastError() {
        var calls = 0
        #expect(throws: CoordinationError.self) {
            try OutageBudget(seconds: 0).run { () throws(CoordinationError) in
                calls += 1
                throw Self.loading
            }
        }
        #expect(calls == 1)
        var stopped = 0
        #expect(throws: CoordinationError.self) {
            try OutageBudget(seconds: 60).run(shouldStop: { true }) { () throws(CoordinationError) in
                stopped += 1
                throw Self.loading
            }
        }
        #expect(stopped == 1)
    }

    @Test func pausesGrowAndStayBounded() {
        #expect(OutageBudget.pause(attempt: 0) == 0.05)
        #expect(OutageBudget.pause(attempt: 1) == 0.1)
        #expect(OutageBudget.pause(attempt: 50) == 1)
    }
}
