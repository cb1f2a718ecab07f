import Foundation
import Testing
import IPRModels

@Suite struct EvidenceTests {
    @Test func binomialTailAgainstExactSums() {
        #expect(abs(binomialTail(successes: 0, trials: 10) - 1) < 1e-12)
        #expect(abs(binomialTail(successes: 10, trials: 10) - pow(0.5, 10)) < 1e-15)
        #expect(abs(binomialTail(successes: 6, trials: 10) - 386.0 / 1024) < 1e-12)
        #expect(binomialTail(successes: 896, trials: 896) > 0)    // no underflow to 0 in log space… down to 1e-270
        #expect(binomialTail(successes: 11, trials: 10) == 0)
        // p = 1/10 (a trigger set of 10 classes): P(X ≥ 2 of 3) = 3·0.01·0.9 + 0.001.
        #expect(abs(binomialTail(successes: 2, trials: 3, p: 0.1) - 0.028) < 1e-12)
        #expect(binomialTail(successes: 95, trials: 100, p: 0.1) < 1e-80)
    }

    @Test func empiricalPValueHasTheResolutionOfItsDraws() {
        #expect(empiricalPValue(0.9, null: []) == 1)
        #expect(empiricalPValue(0.9, null: [0.5, 0.6, 0.7]) == 0.25)
        #expect(empiricalPValue(0.6, null: [0.5, 0.6, 0.7]) == 0.75)   // ties count against the claim
        #expect(empiricalPValue(1, null: [Double](repeating: 0.5, count: 999)) == 0.001)
    }
}
