/*
 * version.c - the library's version string.
 *
 * GORT_VERSION_STRING is defined once, in gort.h; CMake reads the project
 * version from there too, so the header, the shared library's VERSION, gort.pc
 * and the CMake package can never disagree.
 */
#include "gort.h"

const char *gort_version(void) {
    return GORT_VERSION_STRING;
}
