// Host memory for CPU tensors: 64-byte aligned, with freed large blocks kept for reuse. Without the cache every
// large op output is fresh memory from mmap, and its page faults cost more than the op (an elementwise add of 64M
// floats ran at a quarter of memcpy speed); eager code reallocates the same sizes over and over. A request no cached
// block fits first frees the oldest cached blocks until live + cached memory fits within the peak of live memory, so
// shapes that change (batches of other lengths) do not grow the cache.
#pragma once
#include <cstddef>

namespace glint {

std::byte* host_alloc(size_t nbytes);  // throws "[cpu] out of memory ..." on failure
void host_free(std::byte* p, size_t nbytes);
// Bytes currently held in the reuse cache (for tests and benchmarks).
size_t host_cached_bytes();
// Bytes of cacheable-size (1 MiB and up) blocks in use now, and the most in use at once so far.
size_t host_live_bytes();
size_t host_peak_live_bytes();

}  // namespace glint
