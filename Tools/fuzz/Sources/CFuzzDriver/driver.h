// libFuzzer's entry for programs with a main of their own (libclang_rt.fuzzer_no_main, LLVM ≥ 11).
// SwiftPM renames an executable's main on Linux, which clashes with the main that
// `-sanitize=fuzzer` links in; so `Tools/fuzz/run` instruments with coverage flags and links the
// no-main library, and each target's main.swift calls this.
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
