import Foundation
import IPRData
import FuzzSupport

// The trigger set's label file (one float-written class per line, paired with pics/ in sorted
// order), against a folder of three images: it loads with three labels in range, or throws.
let root: String = {
    let pics = Scratch.folder + "/trigger/pics"
    try! FileManager.default.createDirectory(atPath: pics, withIntermediateDirectories: true)
    for name in ["1.jpg", "2.jpg", "3.png"] { _ = FileManager.default.createFile(atPath: pics + "/" + name, contents: Data()) }
    return Scratch.folder + "/trigger"
}()

func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    _ = root
    Scratch.write(input(data, size), as: "trigger/labels-cifar.txt")
    guard let set = try? TriggerSet(root: root) else { return 0 }
    precondition(set.labels.count == 3 && set.labels.allSatisfy { (0..<10).contains($0) }, "labels out of range loaded")
    return 0
}

fuzzMain(fuzz)
