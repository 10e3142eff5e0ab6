// Hands freed heap memory back to the OS after a model builds its inference tables (glibc keeps
// freed pages otherwise; elsewhere this does nothing). Called at the end of every
// prepare_inference(), float and int8 alike, so the resident memory of a loaded model is what it
// holds, and the two are measured the same way.
#pragma once

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace md {

inline void release_free_memory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace md
