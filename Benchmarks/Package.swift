// swift-tools-version:6.1
// Micro benchmarks (package-benchmark), kept out of the main package's build graph so the
// library and CI builds stay lean. Run: ./refold.sh benchmarks   (see Benchmarks/README.md)
import Foundation
import PackageDescription

// A path dependency is identified by its folder's name, which differs between clones.
let refold = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "RefoldBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "RefoldMicro",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "RefoldCore", package: refold),
                .product(name: "RefoldSQLite", package: refold),
                .product(name: "RefoldCoordination", package: refold),
                .product(name: "RefoldRedis", package: refold),
                .product(name: "RefoldRunner", package: refold),
                .product(name: "RefoldOrderSummary", package: refold),
            ],
            path: "Benchmarks/RefoldMicro",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
