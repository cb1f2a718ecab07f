import Prometheus

/// What `GET /metrics` shows, in the Prometheus text format (swift-prometheus): requests by route
/// and status, inference latency, images inferred, requests refused because too many were in flight.
/// One registry per server (not swift-metrics' process-wide bootstrap), so that servers in one
/// process, as in the tests, count apart.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let inferenceSeconds: DurationHistogram
    let images: Counter
    let refusedBusy: Counter

    init() {
        inferenceSeconds = registry.makeDurationHistogram(
            name: "ipr_inference_duration_seconds",
            buckets: [.milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                      .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10)],
            help: "Time from an infer request's collected body to its encoded answer")
        images = registry.makeCounter(name: "ipr_inferred_images_total", help: "Images answered by infer requests")
        refusedBusy = registry.makeCounter(name: "ipr_requests_refused_busy_total",
                                           help: "Infer requests refused with 429 because the server had its maximum in flight")
    }

    /// Counts one answered request: `route` is the route's pattern (`/v2/models/{name}/infer`), not the
    /// path, so a scan of made-up paths adds one series (Hummingbird names it `NotFound`).
    func request(route: String, status: Int) {
        registry.makeCounter(name: "ipr_http_requests_total", labels: [("route", route), ("status", String(status))],
                             help: "HTTP requests answered, by route and status").increment()
    }

    /// The text a scrape gets.
    func text() -> [UInt8] { registry.emitToBuffer() }
}
