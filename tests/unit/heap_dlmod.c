/*
 * heap_dlmod.c - a library that heap_test loads and unloads while the
 * collector runs: its global slot is a root only while it is loaded.
 */
__attribute__((visibility("default"))) void *heap_dlmod_slot;
