/*
 * traceback_dlmod.c - a library that traceback_test loads and unloads
 * again: the file:line of its function comes from this module's DWARF.
 */
__attribute__((noinline, visibility("default"))) int traceback_dlmod_fn(int x);

int traceback_dlmod_fn(int x) {
    return x * 3 + 1;
}
