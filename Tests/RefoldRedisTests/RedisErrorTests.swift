import RefoldRedis
import Testing

/// Which failures are worth waiting for: the table valkey-swift and redis-py retry on.
@Suite struct RedisErrorTests {
    static let transientReplies = [
        "LOADING Redis is loading the dataset in memory",
        "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
        "READONLY You can't write against a read only replica.",
        "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
        "TRYAGAIN Multiple keys request during rehashing of slot",
        "CLUSTERDOWN The cluster is down",
        "NOREPLICAS Not enough good replicas to write.",
        "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)",
    ]

    static let finalReplies = [
        "ERR wrong number of arguments for 'hset' command",
        "WRONGTYPE Operation against a key holding the wrong kind of value",
        "NOPERM User reader has no permissions to run the 'hset' command",
        "NOSCRIPT No matching script. Please use EVAL.",
        "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.",
        "ERR refold: claim: n must be an integer from 1 to 1000",
        "LOADINGX not a known reply",
        "BUSYKEY Target key name already exists.",
    ]

    @Test(arguments: transientReplies)
    func transientRepliesAreRetried(_ text: String) {
        let error = RedisError(.server, "Redis rejected EVALSHA: \(text)", serverMessage: text)
        #expect(error.isTransientReply)
        #expect(error.isTransient)
        #expect(!error.isConnectionFailure)
    }

    @Test(arguments: finalReplies)
    func otherRepliesAreFinal(_ text: String) {
        let error = RedisError(.server, "Redis rejected EVALSHA: \(text)", serverMessage: text)
        #expect(!error.isTransient)
    }

    @Test func connectionFailuresAreTransientAndInputErrorsAreNot() {
        for code in [RedisError.Code.unreachable, .connectionLost, .timeout] {
            #expect(RedisError(code, "x").isTransient, "\(code)")
        }
        for code in [RedisError.Code.invalidURL, .authentication, .protocolViolation, .unknownScript, .notRedis, .server] {
            #expect(!RedisError(code, "x").isTransient, "\(code)")
        }
    }
}
