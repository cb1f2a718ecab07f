import IPRAttacks
import IPRCommands
import IPRModels

// What this package adds, one line each; then the whole command line, which now lists and runs them.
Attacks.registry.register("weight-noise", description: "Gaussian noise added to every weight, swept over its size relative to each tensor's spread", WeightNoiseAttack())
Models.registry.register("smallnet", description: "three conv blocks and a linear classifier (this package's example model)") { config, blocks, rng in
    try SmallNet(config, blocks: blocks, rng: &rng)
}
IPRTool.main()
