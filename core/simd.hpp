// Runtime dispatch for the hot loops: portable release builds (no -march=native) still run AVX2 or
// AVX-512 code on machines that have it. GCC's target_clones compiles the function once per listed
// architecture and picks one at load time (ifunc). With KETAPLAST_NATIVE the whole build targets
// the build machine instead, and sanitizer builds skip the clones (ifunc and ASan do not mix well).
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(KETAPLAST_NATIVE) &&         \
    !defined(KETAPLAST_NO_CLONES)
#define KETAPLAST_HOT_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define KETAPLAST_HOT_CLONES
#endif
