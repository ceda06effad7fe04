import Foundation

// libFuzzer's entry points. SwiftPM links every executable with `main` defined as
// `<module>_main` (for its test discovery), so that symbol must exist: it hands argv (libFuzzer's
// flags and corpus folders) to `LLVMFuzzerRunDriver`. The linker still pulls libFuzzer's own
// `main` (FuzzerMain.o) out of libclang_rt.fuzzer, and that object needs
// `LLVMFuzzerTestOneInput`: with lld the link fails with "undefined symbol:
// LLVMFuzzerTestOneInput", ld.gold stops on an internal error instead (fuzz/README.md). So both
// are defined, both run the same callback, and the setup is in `LLVMFuzzerInitialize`, which
// libFuzzer's driver calls on either path. The decoder is chosen by the FUZZ_TARGET variable.

typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

@_silgen_name("LLVMFuzzerRunDriver")
func llvmFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: FuzzCallback
) -> CInt

@_cdecl("federation_libfuzz_main")
func federationLibfuzzMain(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> CInt {
    var argc = argc
    var argv = argv
    return llvmFuzzerRunDriver(&argc, &argv) { data, size in
        fuzzOneInput(data, size)
    }
}

/// Called once by libFuzzer's driver before the first input.
@_cdecl("LLVMFuzzerInitialize")
func llvmFuzzerInitialize(
    _ argc: UnsafeMutablePointer<CInt>?,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?
) -> CInt {
    signal(SIGPIPE, SIG_IGN)
    _ = Harness.current  // An unknown FUZZ_TARGET fails here, before the first input.
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
func llvmFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzOneInput(data, size)
}

func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    Harness.current.fuzzOneInput(bytes)
    return 0
}
