/*
 * heap_bigdlmod.c - a library with a large writable segment (32 MiB of
 * bss: address space, and the zero page until written), which heap_test
 * loads and unloads on a thread the world's stops do not stop, so that a
 * pause's scan of the globals spans the thread's dlclose.
 */
__attribute__((visibility("default"))) char heap_bigdlmod_bss[16 << 20];
