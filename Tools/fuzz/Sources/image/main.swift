import IPRData
import FuzzSupport

// Image decoding by magic bytes (PNG through libpng, JPEG through libjpeg-turbo), full size and
// scaled (the ImageNet loader's path): decodes to a consistent image or throws.
func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(input(data, size))
    for minimumSide in [0, 8] {
        guard let image = try? ImageCodec.decode(bytes, source: "<fuzz>", minimumSide: minimumSide) else { continue }
        precondition(image.width > 0 && image.height > 0 && image.pixels.count == image.width * image.height * image.channels,
                     "decoded image has inconsistent size")
    }
    return 0
}

fuzzMain(fuzz)
