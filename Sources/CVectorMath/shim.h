// The correctly rounded IEEE square root without errno. Swift's `squareRoot()` calls libm's sqrtf/sqrt
// on Linux (glibc sets errno for negative input), and that call keeps the loops around it from
// vectorising; clang's element-wise builtin is the plain square root instruction, bit-identical to libm's
// result, so the compiler can turn a loop of them into vector square roots (sqrtps/sqrtpd on x86-64).
// Header only: nothing to link.
static inline float tg_sqrtf(float x) { return __builtin_elementwise_sqrt(x); }
static inline double tg_sqrt(double x) { return __builtin_elementwise_sqrt(x); }
