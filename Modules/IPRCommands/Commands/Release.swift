import ArgumentParser
import IPRPassport

extension IPRTool {
    struct Release: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the deployable V2 model: public path only, no private passport or signature.",
            discussion: """
            The released file has every weight and the learned public scale/bias, and none of key_private, \
            skey_private, the signature bits or the private-path statistics; `iprtool evaluate` runs it as is.
            Example: iprtool release --checkpoint runs/alexnet-v2/best.safetensors --out alexnet-public.safetensors
            """)

        @Option(help: "A V2 checkpoint.")
        var checkpoint: String

        @Option(help: "Where to write the released model.")
        var out: String

        func run() throws {
            try PassportCheckpoint.release(checkpoint, to: out)
            say("released \(checkpoint) → \(out) (no private passport, no signature)")
        }
    }
}
