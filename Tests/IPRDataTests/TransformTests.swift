import IPRTensor
import Testing
@testable import IPRData

/// Transform parity with torchvision on PIL images (golden outputs from Pillow + numpy).
@Suite("Transforms")
struct TransformTests {
    @Test("Center crop: odd and even offsets (Python rounding), rectangles, padding of small images")
    func centerCrop() throws {
        let g = try TransformGolden.load()
        for c in ["center_crop_odd", "center_crop_even", "center_crop_rect", "center_crop_pad"] {
            let p = try g.params(c)
            let crop = CenterCrop(height: p["height"] as! Int, width: p["width"] as! Int, padIfSmaller: p["pad_if_smaller"] as! Bool)
            let out = try crop.apply(g.image("\(c).input"))
            #expect(maxDifference(out, try g.image("\(c).output")) == 0, "\(c)")
        }
    }

    @Test("Horizontal flip")
    func flip() throws {
        let g = try TransformGolden.load()
        #expect(try g.image("hflip.input").flippedHorizontally() == g.image("hflip.output"))
        var rng = RNG(seed: 0)
        #expect(try RandomHorizontalFlip(p: 1).apply(g.image("hflip.input"), rng: &rng) == g.image("hflip.output"))
        #expect(try RandomHorizontalFlip(p: 0).apply(g.image("hflip.input"), rng: &rng) == g.image("hflip.input"))
    }

    @Test("Zero padding 4 + crop 32 at fixed offsets")
    func padCrop() throws {
        let g = try TransformGolden.load()
        let input = try g.image("pad_crop.input")
        let expected = try g.file.tensor("pad_crop.output")
        let offsets = try #require(try g.params("pad_crop")["offsets"] as? [[Int]])
        let padded = input.padded(left: 4, top: 4, right: 4, bottom: 4)
        for (k, o) in offsets.enumerated() {
            let want = Image(width: 32, height: 32, pixels: Array(expected.bytes[(k * 3072)..<((k + 1) * 3072)]))
            // What RandomCrop does (crop of the original at offset - padding) and the explicit pad-then-crop.
            #expect(input.cropped(top: o[0] - 4, left: o[1] - 4, height: 32, width: 32) == want, "offset \(o)")
            #expect(padded.cropped(top: o[0], left: o[1], height: 32, width: 32) == want, "offset \(o)")
        }
    }

    @Test("To-tensor and normalise are bit-identical to torchvision")
    func toTensorNormalize() throws {
        let g = try TransformGolden.load()
        for (c, normalize) in [("to_tensor", nil), ("normalize_imagenet", Normalize.imageNet), ("normalize_cifar", Normalize.cifar10),
                               ("normalize_ramp", Normalize.imageNet)] as [(String, Normalize?)] {
            var rng = RNG(seed: 0)
            let out = try SampleTransform([], normalize: normalize)(g.image("\(c).input"), rng: &rng)
            let want = try g.floats("\(c).output")
            #expect(out.shape == want.shape)
            #expect(out.array == want.values, "\(c): max |diff| \(zip(out.array, want.values).map { abs($0 - $1) }.max() ?? 0)")
            // The tensor-level ops agree with the fused lookup.
            var plain = ToTensor()(try g.image("\(c).input"))
            if let normalize { plain = normalize(plain) }
            #expect(plain.array == want.values, "\(c) via ToTensor/Normalize")
        }
    }

    @Test("Bilinear resize matches Pillow (antialiased down, up, mixed, shorter side)")
    func resize() throws {
        let g = try TransformGolden.load()
        var worst = 0
        for c in g.cases(prefix: "resize_") {
            let p = try g.params(c)
            let input = try g.image("\(c).input")
            var rng = RNG(seed: 0)
            let transform = (p["shorter_side"] as? Int).map { Resize($0) }
                ?? Resize(height: p["height"] as! Int, width: p["width"] as! Int)
            let out = try transform.apply(input, rng: &rng)
            let want = try g.image("\(c).output")
            let d = maxDifference(out, want)
            worst = max(worst, d)
            #expect(d <= 1, "\(c): \(out) vs \(want), max difference \(d)/255")
        }
        #expect(worst == 0, "Pillow's fixed-point arithmetic is reproduced exactly (worst \(worst)/255)")
    }

    @Test("Resized crop at a fixed box matches Pillow crop + resize")
    func resizedCrop() throws {
        let g = try TransformGolden.load()
        let p = try g.params("resized_crop")
        let out = try g.image("resized_crop.input")
            .cropped(top: p["top"] as! Int, left: p["left"] as! Int, height: p["height"] as! Int, width: p["width"] as! Int)
            .resized(width: p["size"] as! Int, height: p["size"] as! Int)
        #expect(maxDifference(out, try g.image("resized_crop.output")) == 0)
    }

    @Test("RandomCrop: offsets cover 0...2p, same seed same crop, too-small image is an error")
    func randomCrop() throws {
        var input = Image(width: 32, height: 32)
        for i in 0..<input.pixels.count { input.pixels[i] = UInt8(i % 251) }
        let crop = RandomCrop(32, padding: 4)
        var seen = Set<[Int]>()
        let padded = input.padded(left: 4, top: 4, right: 4, bottom: 4)
        for seed in 0..<400 {
            var rng = RNG(seed: UInt64(seed))
            let out = try crop.apply(input, rng: &rng)
            var again = RNG(seed: UInt64(seed))
            #expect(try crop.apply(input, rng: &again) == out)
            var probe = RNG(seed: UInt64(seed))
            let top = probe.int(below: 9), left = probe.int(below: 9)
            #expect(out == padded.cropped(top: top, left: left, height: 32, width: 32))
            seen.insert([top, left])
        }
        #expect(seen.count > 70, "81 offsets possible, saw \(seen.count)")
        var rng = RNG(seed: 0)
        expectDataError(.imageSize, mentioning: ["RandomCrop 32x32", "20x20"]) {
            _ = try RandomCrop(32).apply(Image(width: 20, height: 20), rng: &rng)
        }
        expectDataError(.imageSize, mentioning: ["CenterCrop 32x32", "31x40"]) { _ = try CenterCrop(32).apply(Image(width: 31, height: 40)) }
    }

    @Test("RandomResizedCrop: torchvision's box rules and fallback")
    func randomResizedCrop() throws {
        for seed in 0..<200 {
            var rng = RNG(seed: UInt64(seed))
            let b = RandomResizedCrop.parameters(imageWidth: 100, imageHeight: 80, scale: 0.08...1, ratio: 0.75...(4.0 / 3.0), rng: &rng)
            #expect(b.width > 0 && b.height > 0 && b.left >= 0 && b.top >= 0 && b.left + b.width <= 100 && b.top + b.height <= 80)
            let area = Double(b.width * b.height) / 8000
            #expect(area > 0.06 && area < 1.03, "area fraction \(area)")
        }
        // 100x2: every attempt needs h >= 3 > 2, so the fallback runs: h = 2, w = round(2 * 4/3) = 3, centered.
        var rng = RNG(seed: 5)
        let b = RandomResizedCrop.parameters(imageWidth: 100, imageHeight: 2, scale: 0.08...1, ratio: 0.75...(4.0 / 3.0), rng: &rng)
        #expect(b.top == 0 && b.left == 48 && b.height == 2 && b.width == 3)
        // Tall 2x100: w = 2, h = round(2 / 0.75) = 3 (Python rounds 2.67 to 3).
        let t = RandomResizedCrop.parameters(imageWidth: 2, imageHeight: 100, scale: 0.08...1, ratio: 0.75...(4.0 / 3.0), rng: &rng)
        #expect(t.top == 48 && t.left == 0 && t.height == 3 && t.width == 2)
        let out = try RandomResizedCrop(24).apply(Image(width: 50, height: 40), rng: &rng)
        #expect(out.width == 24 && out.height == 24)
    }

    @Test("Trigger-set evaluation transform: center crop 32 + to-tensor + ImageNet normalise")
    func triggerTransform() throws {
        let g = try TransformGolden.load()
        var rng = RNG(seed: 0)
        let image = try Image(contentsOf: Fixtures.triggerSet + "/pics/1.jpg")
        let out = try SampleTransform.triggerSet()(image, rng: &rng)
        let want = try g.floats("trigger_1.center_crop_normalized")
        #expect(out.shape == [3, 32, 32])
        #expect(out.array == want.values)
    }

    @Test("Compose runs in order and reports randomness")
    func compose() throws {
        let c = Compose(CenterCrop(4), Pad(1))
        #expect(!c.isRandom)
        #expect(Compose(Resize(8), RandomHorizontalFlip()).isRandom)
        var rng = RNG(seed: 1)
        let out = try c.apply(Image(width: 9, height: 9), rng: &rng)
        #expect(out.width == 6 && out.height == 6)
        #expect(Resize(256).outputSize(width: 500, height: 375) == (341, 256))
        #expect(Resize(256).outputSize(width: 375, height: 500) == (256, 341))
    }
}
