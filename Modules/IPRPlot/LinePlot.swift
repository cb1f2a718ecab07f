import CCairo
import Foundation

/// A line plot of a few series over a shared x axis, drawn by cairo to PNG or SVG: attack sweeps
/// (accuracy and detection against the pruned or flipped fraction) and training curves.
public struct LinePlot: Sendable {
    /// One named line; points in data coordinates, drawn in the order given.
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public init(_ name: String, _ points: [(x: Double, y: Double)]) { self.name = name; self.points = points }
    }

    public var title: String
    public var xLabel: String, yLabel: String
    public var series: [Series]
    /// Axis ranges; nil fits the data (y always includes 0…1 when all values lie in it).
    public var xRange: ClosedRange<Double>?, yRange: ClosedRange<Double>?
    public var width = 720.0, height = 480.0

    public init(title: String, xLabel: String, yLabel: String, series: [Series],
                xRange: ClosedRange<Double>? = nil, yRange: ClosedRange<Double>? = nil) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.series = series
        self.xRange = xRange; self.yRange = yRange
    }

    /// Writes a PNG; throws `PlotError` naming the file when cairo cannot.
    public func writePNG(to path: String) throws {
        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(width), Int32(height)) else {
            throw PlotError("\(path): cairo could not create a \(Int(width))×\(Int(height)) image")
        }
        defer { cairo_surface_destroy(surface) }
        try draw(on: surface, path: path)
        let status = cairo_surface_write_to_png(surface, path)
        guard status == CAIRO_STATUS_SUCCESS else { throw PlotError("\(path): cannot write the PNG (\(String(cString: cairo_status_to_string(status))))") }
    }

    /// Writes an SVG (vector, for papers and web pages).
    public func writeSVG(to path: String) throws {
        guard let surface = cairo_svg_surface_create(path, width, height) else { throw PlotError("\(path): cairo could not create an SVG") }
        try draw(on: surface, path: path)
        cairo_surface_finish(surface)
        let status = cairo_surface_status(surface)
        cairo_surface_destroy(surface)
        guard status == CAIRO_STATUS_SUCCESS else { throw PlotError("\(path): cannot write the SVG (\(String(cString: cairo_status_to_string(status))))") }
    }

    // MARK: - Drawing

    static let palette: [(Double, Double, Double)] = [(0.12, 0.47, 0.71), (0.84, 0.15, 0.16), (0.17, 0.63, 0.17),
                                                      (1.0, 0.5, 0.05), (0.58, 0.4, 0.74), (0.55, 0.34, 0.29)]

    private func draw(on surface: OpaquePointer, path: String) throws {
        guard let cr = cairo_create(surface) else { throw PlotError("\(path): cairo could not draw") }
        defer { cairo_destroy(cr) }
        let all = series.flatMap(\.points)
        let xs = xRange ?? Self.fit(all.map(\.x), unit: false)
        let ys = yRange ?? Self.fit(all.map(\.y), unit: true)
        let left = 72.0, right = width - 24, top = 48.0, bottom = height - 60
        func px(_ x: Double) -> Double { left + (x - xs.lowerBound) / max(xs.upperBound - xs.lowerBound, 1e-12) * (right - left) }
        func py(_ y: Double) -> Double { bottom - (y - ys.lowerBound) / max(ys.upperBound - ys.lowerBound, 1e-12) * (bottom - top) }

        cairo_set_source_rgb(cr, 1, 1, 1)
        cairo_paint(cr)
        cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL)

        // Grid and ticks.
        cairo_set_line_width(cr, 1)
        for v in Self.ticks(xs) {
            cairo_set_source_rgb(cr, 0.9, 0.9, 0.9)
            line(cr, px(v), top, px(v), bottom)
            cairo_set_source_rgb(cr, 0.25, 0.25, 0.25)
            label(cr, Self.format(v), at: px(v), bottom + 16, align: 0.5, size: 12)
        }
        for v in Self.ticks(ys) {
            cairo_set_source_rgb(cr, 0.9, 0.9, 0.9)
            line(cr, left, py(v), right, py(v))
            cairo_set_source_rgb(cr, 0.25, 0.25, 0.25)
            label(cr, Self.format(v), at: left - 8, py(v) + 4, align: 1, size: 12)
        }
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2)
        cairo_rectangle(cr, left, top, right - left, bottom - top)
        cairo_stroke(cr)

        // Series.
        cairo_set_line_width(cr, 2.5)
        for (i, s) in series.enumerated() {
            let (r, g, b) = Self.palette[i % Self.palette.count]
            cairo_set_source_rgb(cr, r, g, b)
            for (j, p) in s.points.enumerated() {
                if j == 0 { cairo_move_to(cr, px(p.x), py(p.y)) } else { cairo_line_to(cr, px(p.x), py(p.y)) }
            }
            cairo_stroke(cr)
            for p in s.points {
                cairo_arc(cr, px(p.x), py(p.y), 3.5, 0, 2 * .pi)
                cairo_fill(cr)
            }
        }

        // Title, axis labels, legend.
        cairo_set_source_rgb(cr, 0, 0, 0)
        label(cr, title, at: (left + right) / 2, 28, align: 0.5, size: 16)
        label(cr, xLabel, at: (left + right) / 2, height - 20, align: 0.5, size: 13)
        cairo_save(cr)
        cairo_translate(cr, 20, (top + bottom) / 2)
        cairo_rotate(cr, -.pi / 2)
        label(cr, yLabel, at: 0, 0, align: 0.5, size: 13)
        cairo_restore(cr)
        // The legend sits in the lower left, on white, where sweeps' curves are rarely drawn.
        let legendHeight = Double(series.count) * 18 + 8
        cairo_set_source_rgba(cr, 1, 1, 1, 0.9)
        cairo_rectangle(cr, left + 8, bottom - 8 - legendHeight, 200, legendHeight)
        cairo_fill(cr)
        for (i, s) in series.enumerated() {
            let (r, g, b) = Self.palette[i % Self.palette.count]
            let y = bottom - 8 - legendHeight + 18 + Double(i) * 18, x = left + 16
            cairo_set_source_rgb(cr, r, g, b)
            cairo_set_line_width(cr, 2.5)
            line(cr, x, y - 4, x + 24, y - 4)
            cairo_set_source_rgb(cr, 0, 0, 0)
            label(cr, s.name, at: x + 30, y, align: 0, size: 12)
        }
        let status = cairo_status(cr)
        guard status == CAIRO_STATUS_SUCCESS else { throw PlotError("\(path): drawing failed (\(String(cString: cairo_status_to_string(status))))") }
    }

    private func line(_ cr: OpaquePointer, _ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double) {
        cairo_move_to(cr, x0, y0)
        cairo_line_to(cr, x1, y1)
        cairo_stroke(cr)
    }

    /// Text with its baseline at y; `align` 0 left, 0.5 centre, 1 right of x.
    private func label(_ cr: OpaquePointer, _ text: String, at x: Double, _ y: Double, align: Double, size: Double) {
        cairo_set_font_size(cr, size)
        var extents = cairo_text_extents_t()
        cairo_text_extents(cr, text, &extents)
        cairo_move_to(cr, x - align * extents.x_advance, y)
        cairo_show_text(cr, text)
    }

    /// A range around the data: 0…1 for fractions (`unit`) when they fit, else padded min…max.
    static func fit(_ values: [Double], unit: Bool) -> ClosedRange<Double> {
        let finite = values.filter(\.isFinite)
        guard let lo = finite.min(), let hi = finite.max() else { return 0...1 }
        if unit && lo >= 0 && hi <= 1 { return 0...1 }
        if lo == hi { return (lo - 1)...(hi + 1) }
        return lo...hi
    }

    /// About five round tick values inside the range.
    static func ticks(_ r: ClosedRange<Double>) -> [Double] {
        let span = r.upperBound - r.lowerBound
        let raw = span / 5, magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        let first = ceil(r.lowerBound / step - 1e-9), last = floor(r.upperBound / step + 1e-9)
        guard first <= last else { return [] }
        // k · step printed to 12 digits: 3 × 0.2 is 0.6, not 0.6000000000000001.
        return stride(from: first, through: last, by: 1).map { Double(String(format: "%.12g", $0 * step))! }
    }

    static func format(_ v: Double) -> String {
        v == v.rounded() ? String(Int(v)) : String(format: "%g", (v * 1000).rounded() / 1000)
    }
}

/// A plot could not be drawn or written; the message names the file.
public struct PlotError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
