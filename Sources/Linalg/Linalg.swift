// Linalg: dense matrices on OpenBLAS/LAPACKE and seeded randomness.
//
// - `Matrix<Scalar>`: row-major, contiguous, `Float` or `Double` (`BLASScalar`).
// - `BLAS`: gemm, gemv, syrk, axpy, scal, dot, nrm2; `BLASThreads` controls OpenBLAS's threads.
// - `LAPACK`: Cholesky (potrf/potrs/potri), symmetric eigendecomposition (syevd), general solve (gesv);
//   failures are `LinalgError` values, never crashes or silent garbage.
// - `Xoshiro256StarStar`: reproducible random streams with Ziggurat normals.
