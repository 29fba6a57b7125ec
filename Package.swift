// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "Refold",
    products: [
        .executable(name: "refold", targets: ["refold"]),
        .library(name: "RefoldCLI", targets: ["RefoldCLI"]),
        .library(name: "RefoldCore", targets: ["RefoldCore"]),
        .library(name: "RefoldJSON", targets: ["RefoldJSON"]),
        .library(name: "RefoldStore", targets: ["RefoldStore"]),
        .library(name: "RefoldSQLite", targets: ["RefoldSQLite"]),
        .library(name: "RefoldPostgres", targets: ["RefoldPostgres"]),
        .library(name: "RefoldMySQL", targets: ["RefoldMySQL"]),
        .library(name: "RefoldRedis", targets: ["RefoldRedis"]),
        .library(name: "RefoldCoordination", targets: ["RefoldCoordination"]),
        .library(name: "RefoldRunner", targets: ["RefoldRunner"]),
        .library(name: "RefoldThreads", targets: ["RefoldThreads"]),
        .library(name: "RefoldOrderSummary", targets: ["RefoldOrderSummary"]),
        .library(name: "RefoldTesting", targets: ["RefoldTesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        // The C boundary: one module per C library, nothing but a module map and shim.h.
        .systemLibrary(
            name: "CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),

        .systemLibrary(name: "CLibpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CMariaDB", providers: [.apt(["libmariadb-dev"])]),

        // Build-time embedding of lua/*.lua into the coordination module.
        .executableTarget(name: "EmbedLuaTool", swiftSettings: strict),
        .plugin(name: "EmbedLuaPlugin", capability: .buildTool(), dependencies: ["EmbedLuaTool"]),

        // Threads for blocking calls, so async code can await them (the seam for services).
        .target(name: "RefoldThreads", dependencies: ["CLinux"], swiftSettings: strict),
        // Child processes and signals (posix_spawn with a clean signal mask, parent-death signal).
        .systemLibrary(name: "CLinux"),
        .target(name: "RefoldProcess", dependencies: ["CLinux"], swiftSettings: strict),
        // Redis client over hiredis: the only importer of CHiredis.
        .target(name: "RefoldRedis", dependencies: ["CHiredis"], swiftSettings: strict),
        // The fork-join protocol: typed API over lua/*.lua.
        .target(
            name: "RefoldCoordination",
            dependencies: ["RefoldRedis", "RefoldJSON", .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics")],
            swiftSettings: strict,
            plugins: ["EmbedLuaPlugin"]
        ),
        // JSON: the strict scanner, the writer, report values. No dependencies at all.
        .target(name: "RefoldJSON", swiftSettings: strict),
        // The engine: events, projections, the fold, quarantine, planning, reports. No I/O.
        .target(name: "RefoldCore", dependencies: ["RefoldJSON"], swiftSettings: strict),
        // The reference projection, order_summary, registered like a user's, and its workload generator.
        .target(name: "RefoldOrderSummary", dependencies: ["RefoldCore"], swiftSettings: strict),
        // What a store is: the event-source and read-model protocols, locations (paths and
        // database URLs, passwords masked), store errors. No I/O of its own.
        .target(name: "RefoldStore", dependencies: ["RefoldCore"], swiftSettings: strict),
        // SQLite event source and read-model store: the only importer of CSQLite.
        .target(name: "RefoldSQLite", dependencies: ["CSQLite", "RefoldCore", "RefoldStore"], swiftSettings: strict),
        // PostgreSQL event source and read-model store over libpq: the only importer of CLibpq.
        .target(name: "RefoldPostgres", dependencies: ["CLibpq", "RefoldCore", "RefoldStore"], swiftSettings: strict),
        // MySQL/MariaDB event source and read-model store over MariaDB Connector/C: the only importer of CMariaDB.
        .target(name: "RefoldMySQL", dependencies: ["CMariaDB", "RefoldCore", "RefoldStore"], swiftSettings: strict),
        // Rebuild orchestration: inline runs, the coordinator, the worker side.
        .target(
            name: "RefoldRunner",
            dependencies: [
                "RefoldCore", "RefoldSQLite", "RefoldPostgres", "RefoldMySQL", "RefoldCoordination", "RefoldRedis", "RefoldProcess", "RefoldThreads",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strict
        ),
        // The HTTP API (`refold serve`): Hummingbird routes over the runner; blocking calls go
        // through RefoldThreads' BlockingPool, never the event loops.
        .target(
            name: "RefoldHTTP",
            dependencies: [
                "RefoldRunner", "RefoldCoordination", "RefoldRedis", "RefoldThreads", "RefoldStore", "RefoldCore", "RefoldJSON",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // Benchmarks: end-to-end ratios, coordination throughput, baselines.
        .target(
            name: "RefoldBench",
            dependencies: ["RefoldRunner", "RefoldOrderSummary", "RefoldCore", "RefoldSQLite", "RefoldPostgres", "RefoldMySQL", "RefoldStore", "RefoldCoordination", "RefoldRedis", "RefoldProcess", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // The command line, as a library so a user's package can register its projections.
        .target(
            name: "RefoldCLI",
            dependencies: [
                "RefoldRunner", "RefoldHTTP", "RefoldBench", "RefoldOrderSummary", "RefoldCore", "RefoldSQLite", "RefoldPostgres", "RefoldStore", "RefoldCoordination", "RefoldRedis", "RefoldProcess", "RefoldThreads", "CLinux",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(name: "refold", dependencies: ["RefoldCLI"], swiftSettings: strict),
        // For users' tests: a fold harness, the order workload generator, a private redis-server.
        .target(
            name: "RefoldTesting",
            dependencies: ["RefoldCore", "RefoldOrderSummary", "RefoldProcess"],
            swiftSettings: strict
        ),

        // Tests. The fixture is a user's binary in miniature: its own projections, refold's CLI.
        .executableTarget(name: "refold-fixture", dependencies: ["RefoldCLI", "RefoldCore", "RefoldOrderSummary"], path: "Tests/RefoldFixture", swiftSettings: strict),
        .target(name: "RefoldTestSupport", dependencies: ["RefoldTesting", "RefoldRedis", "RefoldProcess", "RefoldPostgres", "RefoldMySQL", "RefoldStore", "RefoldRunner"], path: "Tests/RefoldTestSupport", swiftSettings: strict),
        .testTarget(name: "RefoldJSONTests", dependencies: ["RefoldJSON"], swiftSettings: strict),
        .testTarget(name: "RefoldHTTPTests", dependencies: ["RefoldHTTP", "RefoldRedis", "RefoldTestSupport", .product(name: "Logging", package: "swift-log")], swiftSettings: strict),
        .testTarget(name: "RefoldStoreTests", dependencies: ["RefoldStore"], swiftSettings: strict),
        .testTarget(name: "RefoldRedisTests", dependencies: ["RefoldRedis", "RefoldTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "RefoldCoordinationTests",
            dependencies: ["RefoldCoordination", "RefoldProcess", "RefoldTestSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .testTarget(name: "RefoldCoreTests", dependencies: ["RefoldCore", "RefoldTesting"], swiftSettings: strict),
        .testTarget(name: "RefoldOrderSummaryTests", dependencies: ["RefoldOrderSummary", "RefoldTesting"], swiftSettings: strict),
        .testTarget(name: "RefoldSQLiteTests", dependencies: ["RefoldSQLite", "RefoldOrderSummary", "RefoldTestSupport"], swiftSettings: strict),
        .testTarget(name: "RefoldRunnerTests", dependencies: ["RefoldRunner", "RefoldCoordination", "RefoldCore", "RefoldRedis"], swiftSettings: strict),
        .testTarget(name: "RefoldThreadsTests", dependencies: ["RefoldThreads", "RefoldCoordination", "RefoldRedis", "RefoldTestSupport"], swiftSettings: strict),
        .testTarget(name: "RefoldBenchTests", dependencies: ["RefoldBench"], swiftSettings: strict),
        .testTarget(
            name: "RefoldCLITests",
            dependencies: ["RefoldCLI", "RefoldTestSupport"],
            swiftSettings: strict
        ),
    ]
)
