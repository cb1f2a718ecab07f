import Foundation
import Testing
@testable import IPRPlot

@Suite struct LinePlotTests {
    let plot = LinePlot(title: "prune: alexnet", xLabel: "pruned fraction", yLabel: "accuracy",
                        series: [.init("accuracy", [(0, 0.33), (0.5, 0.32), (1, 0.1)]), .init("owner's detection", [(0, 1), (0.5, 1), (1, 0)])],
                        xRange: 0...1, yRange: 0...1)

    func temporary(_ name: String) -> String { FileManager.default.temporaryDirectory.appendingPathComponent("ipr-plot-\(UUID())-\(name)").path }

    @Test func writesAPNGOfItsSize() throws {
        let path = temporary("plot.png")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try plot.writePNG(to: path)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(Array(bytes.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let be = { (i: Int) in bytes[i..<(i + 4)].reduce(0) { $0 << 8 | Int($1) } }
        #expect(be(16) == 720 && be(20) == 480)   // IHDR width and height
        // Not a blank canvas: the two series' colours are in the pixels (the file is compressed, so
        // compare with a plot without series instead).
        let empty = LinePlot(title: "", xLabel: "", yLabel: "", series: [], xRange: 0...1, yRange: 0...1)
        let emptyPath = temporary("empty.png")
        defer { try? FileManager.default.removeItem(atPath: emptyPath) }
        try empty.writePNG(to: emptyPath)
        #expect(try Data(contentsOf: URL(fileURLWithPath: emptyPath)).count < bytes.count)
    }

    @Test func writesAnSVGWithTheLegend() throws {
        let path = temporary("plot.svg")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try plot.writeSVG(to: path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("<svg") && text.contains("</svg>"))
        #expect(text.components(separatedBy: "<path").count > 10)
    }

    @Test func anUnwritablePathIsAnErrorNamingIt() {
        let path = temporary("no/such/folder/plot.png")
        let error = #expect(throws: PlotError.self) { try plot.writePNG(to: path) }
        #expect(error?.message.contains(path) == true)
    }

    @Test func ticksAreRoundAndInside() {
        #expect(LinePlot.ticks(0...1) == [0, 0.2, 0.4, 0.6, 0.8, 1])
        #expect(LinePlot.ticks(0...100) == [0, 20, 40, 60, 80, 100])
        #expect(LinePlot.fit([0.2, 0.9], unit: true) == 0...1)
        #expect(LinePlot.fit([3, 7], unit: true) == 3...7)
        #expect(LinePlot.format(0.25) == "0.25" && LinePlot.format(2) == "2")
    }
}
