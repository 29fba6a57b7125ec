// `import RefoldTesting` brings the engine's types and the order workload (its projection and
// `DatasetGenerator`) along with the harness.
@_exported import RefoldCore
@_exported import RefoldOrderSummary
