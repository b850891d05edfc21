/*
 * sizeclasses.h - Go's size classes (runtime/sizeclasses.go): 67 classes of
 * small objects up to 32 KiB, each carved from spans of a fixed number of
 * 8 KiB pages; class 0 is for large objects (a span each).
 */
#ifndef GORT_SIZECLASSES_H
#define GORT_SIZECLASSES_H

#include <stddef.h>
#include <stdint.h>

#define GORT__NUM_SIZECLASSES 68
#define GORT__NUM_SPANCLASSES (GORT__NUM_SIZECLASSES * 2)
#define GORT__MAX_SMALL_SIZE 32768
#define GORT__SMALL_SIZE_DIV 8
#define GORT__SMALL_SIZE_MAX 1024
#define GORT__LARGE_SIZE_DIV 128

extern const uint16_t gort__class_to_size[GORT__NUM_SIZECLASSES];
extern const uint8_t gort__class_to_allocnpages[GORT__NUM_SIZECLASSES];
extern const uint8_t gort__size_to_class8[GORT__SMALL_SIZE_MAX / GORT__SMALL_SIZE_DIV + 1];
extern const uint8_t
    gort__size_to_class128[(GORT__MAX_SMALL_SIZE - GORT__SMALL_SIZE_MAX) / GORT__LARGE_SIZE_DIV +
                           1];

/* The size class of a small object of size bytes (1 <= size <= 32 KiB). */
static inline uint8_t gort__size_to_class(size_t size) {
    if (size <= GORT__SMALL_SIZE_MAX - 8)
        return gort__size_to_class8[(size + GORT__SMALL_SIZE_DIV - 1) / GORT__SMALL_SIZE_DIV];
    return gort__size_to_class128[(size - GORT__SMALL_SIZE_MAX + GORT__LARGE_SIZE_DIV - 1) /
                                  GORT__LARGE_SIZE_DIV];
}

#endif /* GORT_SIZECLASSES_H */
