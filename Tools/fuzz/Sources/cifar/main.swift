import IPRData
import FuzzSupport

// CIFAR-10 and CIFAR-100 binary batch files: records of label byte(s) + 3072 pixel bytes. A file
// that loads gives every sample it counts.
func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = Scratch.write(input(data, size), as: "batch.bin")
    let datasets: [(any Dataset)?] = [try? CIFAR10(files: [path]), try? CIFAR100(files: [path])]
    for case let dataset? in datasets {
        for i in 0..<dataset.count { _ = try! dataset.sample(at: i) }
    }
    return 0
}

fuzzMain(fuzz)
