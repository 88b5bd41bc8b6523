import CStrataKernels

/// The kernel path the C core chose for this CPU: "avx512" (VNNI), "avx2" or "scalar".
public func simdPathName() -> String {
    String(cString: st_simd_path())
}
