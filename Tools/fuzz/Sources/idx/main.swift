import IPRData
import FuzzSupport

// IDX image and label files (MNIST, Fashion-MNIST), plain or gzipped. The input is both files: its
// first byte, scaled to the input's length, says where the label file starts.
func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = input(data, size)
    guard let first = bytes.first else { return 0 }
    let rest = UnsafeBufferPointer(rebasing: bytes[1...])
    let cut = rest.count * Int(first) / 255
    let images = Scratch.write(UnsafeBufferPointer(rebasing: rest[..<cut]), as: "images-idx3-ubyte")
    let labels = Scratch.write(UnsafeBufferPointer(rebasing: rest[cut...]), as: "labels-idx1-ubyte")
    guard let dataset = try? IDXDataset(imagesFile: images, labelsFile: labels) else { return 0 }
    for i in 0..<min(dataset.count, 64) { _ = try! dataset.sample(at: i) }
    return 0
}

fuzzMain(fuzz)
