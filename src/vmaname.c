/*
 * vmaname.c - names for the runtime's anonymous mappings, as Go 1.25 names
 * its own: `[anon:gort stacks]` and so on in /proc/self/maps (Linux 5.17+
 * with CONFIG_ANON_VMA_NAME; elsewhere prctl fails with EINVAL and the
 * mapping just stays unnamed).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sys/prctl.h>

#include "internal.h"

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#endif
#ifndef PR_SET_VMA_ANON_NAME
#define PR_SET_VMA_ANON_NAME 0
#endif

void gort__vma_name(void *p, size_t len, const char *name) {
    int saved = errno; /* callers' errno is not ours to change */
    (void)prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)p, (unsigned long)len,
                (unsigned long)name);
    errno = saved;
}
