import Foundation
import IPRTensor
import FuzzSupport

// Learning-rate schedules (the reference's lr_configs JSON): parsed and checked, then asked for the
// rate at every epoch it covers (bounded).
func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let schedule = try? LRSchedule.decode(Data(buffer: input(data, size)), source: "<fuzz>") else { return 0 }
    for epoch in 0..<min(schedule.epochs, 1000) {
        let rate = schedule.learningRate(base: 0.1, epoch: epoch)
        precondition(rate >= 0, "negative learning rate")
    }
    return 0
}

fuzzMain(fuzz)
