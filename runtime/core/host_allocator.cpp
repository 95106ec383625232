#include "runtime/core/host_allocator.h"

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
};
Cache& cache() {
  static Cache* c = new Cache;  // outlives static tensors freed at exit
  return *c;
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
      return p;
    }
  }
  auto* p = static_cast<std::byte*>(std::aligned_alloc(64, n));
  if (!p) fail("cpu", "out of memory allocating ", nbytes, " bytes (", host_cached_bytes(), " bytes cached for reuse)");
  return p;
}

void host_free(std::byte* p, size_t nbytes) {
  size_t n = rounded(nbytes ? nbytes : 1);
  if (n < kMinCached || n > cache_limit()) {
    std::free(p);
    return;
  }
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  while (c.bytes + n > cache_limit() && !c.order.empty()) {
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
  c.by_size.emplace(n, p);
  c.order.emplace_back(n, p);
  c.bytes += n;
}

size_t host_cached_bytes() {
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  return c.bytes;
}

}  // namespace glint
