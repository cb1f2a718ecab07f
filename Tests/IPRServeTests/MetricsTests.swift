import AsyncHTTPClient
import Foundation
import IPRServe
import IPRTestSupport
import NIOCore
import Testing

/// `GET /metrics`: Prometheus text that counts what the server answered.
@Suite struct MetricsTests {
    @Test func metricsCountRequestsImagesAndLatency() async throws {
        let model = try BinaryTensorDataTests.model()
        try await withServer(model) { endpoint in
            let pixels = Array(repeating: "7", count: 2 * 3 * 8 * 8).joined(separator: ",")
            let good = #"{"inputs":[{"name":"input","shape":[2,3,8,8],"datatype":"UINT8","data":[\#(pixels)]}]}"#
            for body in [good, good, #"{"inputs":[]}"#] {
                _ = try await fetch(endpoint + "/v2/models/suspect/infer", method: .POST, body: Array(body.utf8))
            }
            _ = try await fetch(endpoint + "/no/such/path")
            let scrape = try await fetch(endpoint + "/metrics")
            #expect(scrape.status == 200 && scrape.headers["Content-Type"].first?.hasPrefix("text/plain") == true)
            let lines = Set(String(decoding: scrape.body, as: UTF8.self).split(separator: "\n").map(String.init))
            let expected = [
                #"ipr_http_requests_total{route="/v2/models/{name}/infer",status="200"} 2"#,
                #"ipr_http_requests_total{route="/v2/models/{name}/infer",status="400"} 1"#,
                #"ipr_http_requests_total{route="NotFound",status="404"} 1"#,
                "ipr_inferred_images_total 4",
                "ipr_inference_duration_seconds_count 2",
                "ipr_requests_refused_busy_total 0",
                "# TYPE ipr_inference_duration_seconds histogram",
            ]
            for line in expected { #expect(lines.contains(line), "\(line) in \(lines.sorted())") }
        }
    }
}
