import Foundation

// libFuzzer's driver is the process's entry point. SwiftPM links every executable with `main`
// aliased to `<module>_main` (for its test discovery), so that is the symbol defined here; it
// hands argv (libFuzzer's flags and corpus folders) to `LLVMFuzzerRunDriver`, which calls
// `fuzzOneInput` once per input. The decoder is chosen by the FUZZ_TARGET environment variable.

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
    signal(SIGPIPE, SIG_IGN)
    _ = Harness.current  // An unknown FUZZ_TARGET fails here, before libFuzzer starts.
    var argc = argc
    var argv = argv
    return llvmFuzzerRunDriver(&argc, &argv) { data, size in
        let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
        Harness.current.fuzzOneInput(bytes)
        return 0
    }
}
