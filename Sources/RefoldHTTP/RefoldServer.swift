import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import RefoldCoordination
import RefoldCore
import RefoldJSON
import RefoldRedis
import RefoldRunner
import RefoldStore
import RefoldThreads
import Synchronization

/// `refold serve`: the HTTP API of `spec/http.md` on Hummingbird. Every blocking call (hiredis,
/// SQLite, the database client libraries) runs on `pool`'s threads; handlers only await them.
public struct RefoldServer: Sendable {
    public struct Options: Sendable {
        public var locations: RebuildLocations
        public var redis: RedisConfiguration
        public var projections: [String]
        public var host = "127.0.0.1"
        public var port = 8080
        public var maxBody = 64 * 1024
        public init(locations: RebuildLocations, redis: RedisConfiguration, projections: [String]) {
            self.locations = locations
            self.redis = redis
            self.projections = projections
        }
    }

    let options: Options
    let pool: BlockingPool
    let waiters: RowWaiters
    let resources: Resources
    let metricsText: @Sendable () -> String

    public init(options: Options, pool: BlockingPool, waiters: RowWaiters, metricsText: @escaping @Sendable () -> String) {
        self.options = options
        self.pool = pool
        self.waiters = waiters
        self.metricsText = metricsText
        resources = Resources(locations: options.locations, redis: options.redis)
    }

    /// The application: the routes of http.md.
    public func application(logger: Logger) -> some ApplicationProtocol {
        let router = Router()
        let server = self
        // Middleware applies to the routes added after it.
        // Metrics outermost: it must see the status ProblemMiddleware turns an error into (a
        // 404 or 422), not the error itself (which it would count as a 500).
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: ProblemMiddleware())
        router.get("health") { _, _ in try await server.health() }
        router.get("metrics") { _, _ in
            // Lag is measured at scrape time (one query per projection on a pool thread).
            let resources = server.resources
            let names = server.options.projections
            _ = try? await server.pool.run { resources.recordLag(names) }
            Gauge(label: "refold_http_waiting_reads").record(server.waiters.count)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: server.metricsText())))
        }
        router.get("v1/projections") { _, _ in
            Self.json(.object([("projections", .array(server.options.projections.map { .string($0) }))]))
        }
        router.get("v1/projections/:name/rows/:id") { request, context in try await server.row(request, context) }
        router.get("v1/projections/:name") { _, context in try await server.projection(context) }
        router.get("v1/projections/:name/quarantine") { _, context in try await server.quarantine(context) }
        router.post("v1/aggregates/:id/events") { request, context in try await server.append(request, context) }
        router.post("v1/replays") { request, context in try await server.replay(request, context) }
        router.get("v1/jobs") { request, _ in try await server.jobs(request) }
        router.get("v1/jobs/:id") { _, context in try await server.job(context) }
        router.delete("v1/jobs/:id") { _, context in try await server.cancel(context) }
        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: OperatorsPage.html)))
        }
        return Application(router: router, configuration: .init(address: .hostname(options.host, port: options.port), serverName: "refold"), logger: logger)
    }

    // MARK: Handlers

    func projectionName(_ context: some RequestContext) throws -> String {
        let name = context.parameters.get("name") ?? ""
        guard options.projections.contains(name) else {
            throw Problem(.notFound, "unknown projection", "\(name.prefix(64)) is not a projection this server serves (\(options.projections.joined(separator: ", "))).")
        }
        return name
    }

    static func validID(_ id: String) -> Bool { !id.isEmpty && id.utf8.count <= 200 && !id.contains("\u{0}") }

    /// Job and request ids: the protocol's own rule (1-100 letters, digits, `.`, `_` or `-`).
    static func validJobID(_ id: String) -> Bool { JobKeys.isValid(jobID: id) }

    func row(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let name = try projectionName(context)
        let id = context.parameters.get("id") ?? ""
        guard Self.validID(id) else { throw Problem(.badRequest, "bad id", "a row id is 1 to 200 bytes.") }
        let minimum = try Self.integerInput(request, header: "Refold-Min-Version", query: "min_version", range: 0...Int64.max)
        let waitMilliseconds = try Self.integerInput(request, header: "Refold-Wait", query: "wait", range: 0...30_000) ?? 2000
        let resources = self.resources
        func read() async throws -> StoredRow? {
            try await pool.run { try resources.row(projection: name, id: id) }
        }
        guard let minimum else {
            guard let row = try await read() else { throw Problem(.notFound, "no such row", "\(name) has no row \(id).") }
            return Self.rowResponse(row)
        }
        let deadline = Date().addingTimeInterval(Double(waitMilliseconds) / 1000)
        while true {
            let waiter = waiters.register(projection: name, id: id, minimum: minimum)
            let row = try await read()
            if let row, row.version >= minimum {
                waiters.remove(waiter)
                return Self.rowResponse(row)
            }
            let remaining = deadline.timeIntervalSinceNow
            let woken = remaining > 0 ? await waiter.wait(timeout: remaining) : false
            waiters.remove(waiter)
            if !woken {
                // Timed out: 409 Conflict says "your precondition (min version) is not met yet";
                // the body tells the current version, Retry-After when to ask again.
                let current = try await read()
                if let current, current.version >= minimum { return Self.rowResponse(current) }
                let stopping = waiters.isDraining
                if !stopping { HTTPMetrics.waitTimedOut(projection: name) }
                let why = stopping ? "when the server began stopping (it stopped waiting)" : "after \(waitMilliseconds) ms"
                return Self.json(.object([
                    ("type", .string("https://refold.dev/problems/version-not-reached")), ("title", .string("version not reached")),
                    ("status", .int(409)), ("detail", .string("\(name)/\(id) is at version \(current.map { String($0.version) } ?? "none") \(why); asked for \(minimum).")),
                    ("current_version", current.map { .int($0.version) } ?? .null), ("min_version", .int(minimum)),
                ]), status: .conflict, headers: [.retryAfter: "1", .contentType: "application/problem+json"])
            }
        }
    }

    static func rowResponse(_ row: StoredRow) -> Response {
        var headers = HTTPFields()
        headers[HTTPField.Name("Refold-Version")!] = String(row.version)
        let data = (try? JSONScanner.parse(row.data)).map(JSONValue.init) ?? .string(String(decoding: row.data, as: UTF8.self))
        return json(.object([("id", .string(row.id)), ("version", .int(row.version)), ("data", data), ("updated_at", row.updatedAt.map { .string($0) } ?? .null)]), headers: headers)
    }

    func projection(_ context: some RequestContext) async throws -> Response {
        let name = try projectionName(context)
        let resources = self.resources
        let status = try await pool.run { try resources.projectionStatus(name) }
        return Self.json(status)
    }

    func quarantine(_ context: some RequestContext) async throws -> Response {
        let name = try projectionName(context)
        let resources = self.resources
        let records = try await pool.run { try resources.quarantined(name) }
        return Self.json(.object([("projection", .string(name)), ("quarantined", .array(records.map(\.json)))]))
    }

    func append(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        guard Self.validID(id) else { throw Problem(.badRequest, "bad aggregate id", "an aggregate id is 1 to 200 bytes.") }
        let body = try await Self.jsonBody(request, limit: options.maxBody)
        guard let type = body["type"]?.string, !type.isEmpty, type.utf8.count <= 255 else {
            throw Problem(.badRequest, "bad event", "the body needs \"type\": the event class, e.g. \"App\\\\Events\\\\ItemAdded\".")
        }
        guard let data = body["data"], case .object = data else {
            throw Problem(.badRequest, "bad event", "the body needs \"data\": a JSON object (the event's properties).")
        }
        var expected: Int64?
        if let value = body["expected_version"] {
            guard let number = value.integer, number >= 0 else { throw Problem(.badRequest, "bad expected_version", "expected_version is a non-negative integer.") }
            expected = number
        }
        let payload = JSONValue(data).rendered()
        let resources = self.resources
        let expectedVersion = expected
        let outcome = try await pool.run { try resources.append(aggregate: id, type: type, payload: payload, expected: expectedVersion) }
        switch outcome {
        case .appended(let version, let position):
            return Self.json(.object([("aggregate", .string(id)), ("version", .int(version)), ("position", .int(position))]), status: .created)
        case .conflict(let current):
            return Self.json(.object([
                ("type", .string("https://refold.dev/problems/version-conflict")), ("title", .string("version conflict")), ("status", .int(409)),
                ("detail", .string("\(id) is at version \(current), not \(expected.map(String.init) ?? "?"); nothing was written.")),
                ("current_version", .int(current)),
            ]), status: .conflict, headers: [.contentType: "application/problem+json"])
        }
    }

    func replay(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let body = try await Self.jsonBody(request, limit: options.maxBody)
        guard let projection = body["projection"]?.string, options.projections.contains(projection) else {
            throw Problem(.unprocessableContent, "unknown projection", "\"projection\" must be one of \(options.projections.joined(separator: ", ")).")
        }
        guard let kindText = body["kind"]?.string, let kind = ReplayRequest.Kind(rawValue: kindText) else {
            throw Problem(.unprocessableContent, "bad kind", "\"kind\" is \"rebuild\" or \"catchup\".")
        }
        var aggregates: [String] = []
        if let list = body["aggregates"] {
            guard case .array(let items) = list, items.count <= 1000 else { throw Problem(.unprocessableContent, "bad aggregates", "\"aggregates\" is an array of at most 1000 ids.") }
            // An empty list is most likely a bug in the caller, not a wish to rebuild everything.
            guard !items.isEmpty else { throw Problem(.unprocessableContent, "bad aggregates", "\"aggregates\" is empty: list the aggregates to replay, or leave the field out to rebuild the whole projection.") }
            for item in items {
                guard let id = item.string, Self.validID(id) else { throw Problem(.unprocessableContent, "bad aggregates", "each aggregate id is a string of 1 to 200 bytes.") }
                aggregates.append(id)
            }
        }
        if kind == .catchup && !aggregates.isEmpty {
            throw Problem(.unprocessableContent, "bad aggregates", "\"aggregates\" go with \"kind\": \"rebuild\" (a replay of those aggregates); a catch-up takes none.")
        }
        let resources = self.resources
        let ids = aggregates
        let reply = try await pool.run { try resources.request(projection: projection, kind: kind, aggregates: ids) }
        return Self.json(.object([("job", .string(reply.id)), ("merged", .bool(reply != .queued(reply.id)))]), status: .accepted, headers: [.location: "/v1/jobs/\(reply.id)"])
    }

    func job(_ context: some RequestContext) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        guard Self.validJobID(id) else { throw Problem(.badRequest, "bad job id", "a job id is 1 to 100 letters, digits, \".\", \"_\" or \"-\".") }
        let resources = self.resources
        let projections = options.projections
        guard let value = try await pool.run({ try resources.job(id, projections: projections) }) else {
            throw Problem(.notFound, "no such job", "no job or request \(id) (finished jobs are kept for a while; see refold status).")
        }
        return Self.json(value)
    }

    func jobs(_ request: Request) async throws -> Response {
        var recent = 10
        if let text = request.uri.queryParameters.get("recent") {
            guard text.utf8.count <= 3, let value = Int(text), (0...100).contains(value) else {
                throw Problem(.badRequest, "bad recent", "?recent= is how many finished jobs to list, from 0 to 100.")
            }
            recent = value
        }
        let resources = self.resources
        let projections = options.projections
        let count = recent
        return Self.json(try await pool.run { try resources.jobs(projections: projections, recent: count) })
    }

    func cancel(_ context: some RequestContext) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        guard Self.validJobID(id) else { throw Problem(.badRequest, "bad job id", "a job id is 1 to 100 letters, digits, \".\", \"_\" or \"-\".") }
        let resources = self.resources
        guard try await pool.run({ try resources.cancel(id) }) else {
            throw Problem(.notFound, "no such running job", "\(id) is not a running job.")
        }
        return Self.json(.object([("job", .string(id)), ("cancelled", .bool(true))]), status: .accepted)
    }

    func health() async throws -> Response {
        let resources = self.resources
        let problems = await (try? pool.run { resources.problems() }) ?? ["the blocking pool is stopped"]
        if problems.isEmpty { return Self.json(.object([("status", .string("ok"))])) }
        return Self.json(.object([("status", .string("unavailable")), ("down", .array(problems.map { .string($0) }))]), status: .serviceUnavailable)
    }

    // MARK: Input and output

    static func integerInput(_ request: Request, header: String, query: String, range: ClosedRange<Int64>) throws -> Int64? {
        let text = request.headers[HTTPField.Name(header)!] ?? request.uri.queryParameters.get(query)
        guard let text else { return nil }
        guard text.utf8.count <= 20, let value = Int64(text), range.contains(value) else {
            throw Problem(.badRequest, "bad \(header)", "\(header) (or ?\(query)=) is an integer from \(range.lowerBound) to \(range.upperBound).")
        }
        return value
    }

    static func jsonBody(_ request: Request, limit: Int) async throws -> JSONTree {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch {
            throw Problem(.contentTooLarge, "body too large", "the body is over \(limit) bytes.")
        }
        guard let tree = try? JSONScanner.parse(Array(buffer.readableBytesView)), case .object = tree else {
            throw Problem(.badRequest, "not JSON", "the body must be a JSON object.")
        }
        return tree
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        if fields[.contentType] == nil { fields[.contentType] = "application/json" }
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: value.rendered())))
    }
}

/// An RFC 9457 problem; `ProblemMiddleware` writes it as `application/problem+json`.
struct Problem: Error {
    let status: HTTPResponse.Status
    let title: String
    let detail: String
    init(_ status: HTTPResponse.Status, _ title: String, _ detail: String) {
        self.status = status
        self.title = title
        self.detail = detail
    }
}

/// Turns every error into problem+json: a `Problem` with its status, Hummingbird's own
/// (404 route, 405 …) with theirs, a store's bad input as 400, an unavailable backend as 503.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            return Self.response(problem.status, problem.title, problem.detail)
        } catch let error as HTTPError {
            return Self.response(error.status, error.status.reasonPhrase, error.body ?? "\(request.method) \(request.uri.path) is not part of the API (see docs/openapi.yaml).")
        } catch let error as CoordinationError {
            // A script's argument check ("ERR refold: <script>: …") is the caller's input.
            if error.redis?.serverMessage?.hasPrefix("ERR refold:") == true { return Self.response(.badRequest, "bad input", error.message) }
            switch error.code {
            case .invalidArgument, .jobMissing: return Self.response(.badRequest, "bad input", error.message)
            case .jobClosed, .jobExists: return Self.response(.conflict, "conflict", error.message)
            default: return Self.response(.serviceUnavailable, "redis unavailable", error.message)
            }
        } catch let error as StoreError {
            switch error.code {
            case .badInput: return Self.response(.badRequest, "bad input", error.message)
            case .locked, .busy: return Self.response(.serviceUnavailable, "busy", error.message)
            default: return Self.response(.serviceUnavailable, "store unavailable", error.message)
            }
        } catch {
            return Self.response(.serviceUnavailable, "unavailable", "\(error)")
        }
    }

    static func response(_ status: HTTPResponse.Status, _ title: String, _ detail: String) -> Response {
        RefoldServer.json(.object([("type", .string("about:blank")), ("title", .string(title)), ("status", .int(Int64(status.code))), ("detail", .string(detail))]),
                          status: status, headers: [.contentType: "application/problem+json"])
    }
}
