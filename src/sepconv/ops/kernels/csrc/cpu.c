/* Which build this is and which builds the CPU runs (see build.py). */
#include <string.h>

#include "vec.h"

const char *sc_isa(void) { return SC_ISA_NAME; }

/* 1 when this CPU (and its OS) runs the avx512 / avx2 builds (x86-64 only). */
int sc_cpu_supports(const char *isa) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (!strcmp(isa, "avx512"))
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
    if (!strcmp(isa, "avx2")) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return !strcmp(isa, "portable");
}
