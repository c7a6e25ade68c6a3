import Linalg
import Testing

/// `Matrix.transposed()` by tiles (docs/tkfac.md#simulator-wall-time) against the definition `tᵀ[j, i] = t[i, j]`,
/// on shapes that are not multiples of the 32-wide tile, and the allocator setting of the command-line tool.
struct TransposeAndMemoryTests {
    @Test(arguments: [(0, 5), (1, 1), (1, 40), (33, 70), (64, 32), (97, 3)])
    func tiledTransposeMatchesTheDefinition(_ shape: (Int, Int)) {
        let (r, c) = shape
        let f = Matrix<Float>(rows: r, columns: c, storage: (0..<(r * c)).map { Float($0) * 0.5 - 7 })
        let d = Matrix<Double>(rows: r, columns: c, storage: (0..<(r * c)).map { Double($0) / 3 })
        let ft = f.transposed(), dt = d.transposed()
        #expect(ft.rows == c && ft.columns == r && dt.rows == c && dt.columns == r)
        for i in 0..<r { for j in 0..<c {
            #expect(ft[j, i] == f[i, j])
            #expect(dt[j, i] == d[i, j])
        } }
        #expect(ft.transposed() == f && dt.transposed() == d)
    }

    @Test func largeFreedBlocksAreKeptForReuse() {
        #if canImport(Glibc)
        #expect(SystemMemory.reuseLargeAllocations(), "glibc refused M_MMAP_THRESHOLD 32 MiB or M_TRIM_THRESHOLD 1 GiB")
        #endif
    }
}
