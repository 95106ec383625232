#include "runtime/core/host_allocator.h"

#include <algorithm>
#include <cstdlib>
#include <list>
#include <map>
#include <mutex>

#include "runtime/core/error.h"

namespace glint {
namespace {

constexpr size_t kMinCached = 1 << 20;  // small blocks are malloc's business

size_t cache_limit() {
  static const size_t limit = [] {
    const char* v = std::getenv("GLINT_CPU_CACHE_MB");
    return (v && *v ? size_t(std::strtoull(v, nullptr, 10)) : 2048) << 20;
  }();
  return limit;
}

size_t rounded(size_t n) { return n < kMinCached ? (n + 63) / 64 * 64 : (n + 4095) / 4096 * 4096; }

struct Cache {
  std::mutex mutex;
  std::multimap<size_t, std::byte*> by_size;
  std::list<std::pair<size_t, std::byte*>> order;  // oldest first, for eviction
  size_t bytes = 0;
  size_t live = 0, peak = 0;  // bytes of cacheable-size blocks in use, and the most in use at once
};
Cache& cache() {
  static Cache* c = new Cache;  // outlives static tensors freed at exit
  return *c;
}

// Frees the oldest cached block (the caller holds the lock).
void evict_oldest(Cache& c) {
  auto [size, old] = c.order.front();
  c.order.pop_front();
  for (auto it = c.by_size.lower_bound(size); it != c.by_size.end() && it->first == size; ++it)
    if (it->second == old) {
      c.by_size.erase(it);
      break;
    }
  c.bytes -= size;
  std::free(old);
}

}  // namespace

std::byte* host_alloc(size_t nbytes) {
  size_t n = rounded(nbytes ? nbytes : 1);
  if (n >= kMinCached) {
    Cache& c = cache();
    std::lock_guard lock(c.mutex);
    if (auto it = c.by_size.find(n); it != c.by_size.end()) {
      std::byte* p = it->second;
      c.by_size.erase(it);
      c.order.remove(std::make_pair(n, p));
      c.bytes -= n;
      c.live += n;
      c.peak = std::max(c.peak, c.live);
      return p;
    }
    // A miss: no cached block has this size (a batch of another length). The oldest cached blocks go back to the
    // system until live + cached memory fits within the peak of live memory, so new shapes reuse memory instead of
    // adding to the cache until its limit; a repeating pattern of sizes, once cached, never misses.
    const size_t limit = std::max(c.peak, c.live + n);
    while (c.live + c.bytes + n > limit && !c.order.empty()) evict_oldest(c);
    c.live += n;
    c.peak = std::max(c.peak, c.live);
  }
  auto* p = static_cast<std::byte*>(std::aligned_alloc(64, n));
  if (!p) {
    if (n >= kMinCached) {
      std::lock_guard lock(cache().mutex);
      cache().live -= n;
    }
    fail("cpu", "out of memory allocating ", nbytes, " bytes (", host_cached_bytes(), " bytes cached for reuse)");
  }
  return p;
}

void host_free(std::byte* p, size_t nbytes) {
  size_t n = rounded(nbytes ? nbytes : 1);
  if (n < kMinCached) {
    std::free(p);
    return;
  }
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  c.live -= n;
  if (n > cache_limit()) {
    std::free(p);
    return;
  }
  while (c.bytes + n > cache_limit() && !c.order.empty()) evict_oldest(c);
  c.by_size.emplace(n, p);
  c.order.emplace_back(n, p);
  c.bytes += n;
}

size_t host_cached_bytes() {
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  return c.bytes;
}

size_t host_live_bytes() {
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  return c.live;
}

size_t host_peak_live_bytes() {
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  return c.peak;
}

}  // namespace glint
