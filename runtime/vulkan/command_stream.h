// The batched command stream of one device: dispatches are recorded into an open command buffer and submitted
// together (at a host read, an explicit synchronize, or every kMaxBatch dispatches). A barrier is recorded only
// when a dispatch reads or writes a byte range that an earlier dispatch of the same barrier epoch wrote (or
// writes a range one read). With GLINT_PROFILE=1 each dispatch is bracketed by timestamps and per-shader GPU time
// is printed when the device closes.
#pragma once
#include <vulkan/vulkan.h>

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

namespace glint::vk {

class Device;

struct Grid;

// A byte range [begin, end) of device memory (buffer device addresses) a dispatch touches.
struct Range {
  uint64_t begin, end;
  bool overlaps(const Range& o) const { return begin < o.end && o.begin < end; }
};

class CommandStream {
 public:
  explicit CommandStream(Device& dev);
  ~CommandStream();

  // Records one dispatch; `name` labels it in the profile.
  void dispatch(VkPipeline pipeline, VkPipelineLayout layout, const void* push, uint32_t push_bytes, const Grid& grid,
                const std::vector<Range>& reads, const std::vector<Range>& writes, const std::string& name);
  // Records a buffer-to-buffer copy (staging transfers) with the barriers it needs around it.
  void copy(VkBuffer src, size_t src_offset, VkBuffer dst, size_t dst_offset, size_t n, Range device_range,
            bool device_writes);
  // Serial of the batch being recorded; work tagged with it completes when wait(serial) returns.
  uint64_t open_serial() const { return serial_; }
  uint64_t completed_serial() const { return completed_; }
  void submit();                 // submits the open batch (if it holds anything)
  // Drops the open batch unsubmitted. Used at process exit, when nothing can read its results any more: a first
  // submit from inside exit handlers races the driver's and the validation layer's own teardown.
  void discard_open();
  void wait(uint64_t serial);    // submits if needed and blocks until `serial` completed
  void wait_all() { wait(serial_); }
  size_t dispatches_recorded() const { return total_dispatches_; }
  size_t barriers_recorded() const { return total_barriers_; }
  size_t submits() const { return total_submits_; }

  static constexpr int kMaxBatch = 256;

 private:
  struct InFlight {
    VkCommandBuffer cmd;
    VkFence fence;
    uint64_t serial;
    VkQueryPool queries;
    std::vector<std::string> names;
  };
  void begin_batch();
  void barrier_if_needed(const std::vector<Range>& reads, const std::vector<Range>& writes);
  void retire(InFlight& f);
  void print_profile();

  Device& dev_;
  VkCommandPool pool_ = VK_NULL_HANDLE;
  std::vector<VkCommandBuffer> free_cmds_;
  std::vector<VkFence> free_fences_;
  std::vector<VkQueryPool> free_query_pools_;
  std::deque<InFlight> in_flight_;
  VkCommandBuffer cmd_ = VK_NULL_HANDLE;  // open batch, or null
  VkQueryPool queries_ = VK_NULL_HANDLE;
  std::vector<std::string> names_;
  int batch_dispatches_ = 0;
  uint64_t serial_ = 1, completed_ = 0;
  std::vector<Range> written_, read_;  // since the last barrier
  size_t total_dispatches_ = 0, total_barriers_ = 0, total_submits_ = 0;
  bool profile_ = false;
  std::map<std::string, std::pair<uint64_t, double>> profile_stats_;  // name -> (count, ns)
};

}  // namespace glint::vk
