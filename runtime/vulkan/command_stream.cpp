#include "runtime/vulkan/command_stream.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "runtime/core/error.h"
#include "runtime/vulkan/device.h"
#include "runtime/vulkan/dispatch.h"

namespace glint::vk {
namespace {

constexpr VkPipelineStageFlags kStages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;

void memory_barrier(VkCommandBuffer cmd, VkPipelineStageFlags src_stage, VkAccessFlags src,
                    VkPipelineStageFlags dst_stage, VkAccessFlags dst) {
  VkMemoryBarrier b{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  b.srcAccessMask = src;
  b.dstAccessMask = dst;
  vkCmdPipelineBarrier(cmd, src_stage, dst_stage, 0, 1, &b, 0, nullptr, 0, nullptr);
}

// Everything the GPU wrote before, visible to everything after.
void full_barrier(VkCommandBuffer cmd) {
  memory_barrier(cmd, kStages, VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT, kStages,
                 VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                     VK_ACCESS_TRANSFER_WRITE_BIT);
}

bool any_overlap(const std::vector<Range>& a, const std::vector<Range>& b) {
  for (const Range& x : a)
    for (const Range& y : b)
      if (x.overlaps(y)) return true;
  return false;
}

}  // namespace

CommandStream::CommandStream(Device& dev) : dev_(dev) {
  VkCommandPoolCreateInfo ci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  ci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  ci.queueFamilyIndex = dev.queue_family();
  GLINT_VK_CHECK(vkCreateCommandPool(dev.handle(), &ci, nullptr, &pool_), "vkCreateCommandPool");
  const char* p = std::getenv("GLINT_PROFILE");
  profile_ = p && *p && std::strcmp(p, "0") != 0;
  if (profile_ && !dev.timestamps()) {
    spdlog::warn("[vulkan] GLINT_PROFILE: {} has no compute timestamps; profiling is off", dev.info().name);
    profile_ = false;
  }
}

CommandStream::~CommandStream() {
  try {
    wait_all();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
  }
  if (profile_) print_profile();
  VkDevice d = dev_.handle();
  for (auto f : free_fences_) vkDestroyFence(d, f, nullptr);
  for (auto q : free_query_pools_) vkDestroyQueryPool(d, q, nullptr);
  if (queries_) vkDestroyQueryPool(d, queries_, nullptr);
  vkDestroyCommandPool(d, pool_, nullptr);
}

void CommandStream::begin_batch() {
  if (free_cmds_.empty()) {
    VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    ai.commandPool = pool_;
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    VkCommandBuffer c;
    GLINT_VK_CHECK(vkAllocateCommandBuffers(dev_.handle(), &ai, &c), "vkAllocateCommandBuffers");
    free_cmds_.push_back(c);
  }
  cmd_ = free_cmds_.back();
  free_cmds_.pop_back();
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  GLINT_VK_CHECK(vkBeginCommandBuffer(cmd_, &bi), "vkBeginCommandBuffer");
  // Batches are not ordered by memory dependencies on their own: one barrier orders this batch after the last.
  full_barrier(cmd_);
  ++total_barriers_;
  written_.clear();
  read_.clear();
  batch_dispatches_ = 0;
  if (profile_) {
    if (free_query_pools_.empty()) {
      VkQueryPoolCreateInfo qi{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
      qi.queryType = VK_QUERY_TYPE_TIMESTAMP;
      qi.queryCount = 2 * kMaxBatch;
      VkQueryPool q;
      GLINT_VK_CHECK(vkCreateQueryPool(dev_.handle(), &qi, nullptr, &q), "vkCreateQueryPool");
      free_query_pools_.push_back(q);
    }
    queries_ = free_query_pools_.back();
    free_query_pools_.pop_back();
    vkCmdResetQueryPool(cmd_, queries_, 0, 2 * kMaxBatch);
  }
}

void CommandStream::barrier_if_needed(const std::vector<Range>& reads, const std::vector<Range>& writes) {
  if (any_overlap(reads, written_) || any_overlap(writes, written_) || any_overlap(writes, read_)) {
    memory_barrier(cmd_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                   VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
    ++total_barriers_;
    written_.clear();
    read_.clear();
  }
}

void CommandStream::dispatch(VkPipeline pipeline, VkPipelineLayout layout, const void* push, uint32_t push_bytes,
                             const Grid& grid, const std::vector<Range>& reads, const std::vector<Range>& writes,
                             const std::string& name) {
  if (!cmd_) begin_batch();
  barrier_if_needed(reads, writes);
  vkCmdBindPipeline(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
  if (push_bytes) vkCmdPushConstants(cmd_, layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes, push);
  if (profile_) vkCmdWriteTimestamp(cmd_, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, queries_, 2 * batch_dispatches_);
  vkCmdDispatch(cmd_, grid.x, grid.y, grid.z);
  if (profile_) {
    vkCmdWriteTimestamp(cmd_, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries_, 2 * batch_dispatches_ + 1);
    names_.push_back(name);
  }
  read_.insert(read_.end(), reads.begin(), reads.end());
  written_.insert(written_.end(), writes.begin(), writes.end());
  ++total_dispatches_;
  if (++batch_dispatches_ >= kMaxBatch) submit();
}

void CommandStream::copy(VkBuffer src, size_t src_offset, VkBuffer dst, size_t dst_offset, size_t n, Range range,
                         bool device_writes) {
  if (!cmd_) begin_batch();
  full_barrier(cmd_);
  VkBufferCopy region{src_offset, dst_offset, n};
  vkCmdCopyBuffer(cmd_, src, dst, 1, &region);
  full_barrier(cmd_);
  total_barriers_ += 2;
  written_.clear();
  read_.clear();
  (device_writes ? written_ : read_).push_back(range);
}

void CommandStream::submit() {
  if (!cmd_) return;
  // Make this batch's writes visible to the host once its fence signals.
  memory_barrier(cmd_, kStages, VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT,
                 VK_ACCESS_HOST_READ_BIT);
  GLINT_VK_CHECK(vkEndCommandBuffer(cmd_), "vkEndCommandBuffer");
  VkFence fence;
  if (free_fences_.empty()) {
    VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    GLINT_VK_CHECK(vkCreateFence(dev_.handle(), &fi, nullptr, &fence), "vkCreateFence");
  } else {
    fence = free_fences_.back();
    free_fences_.pop_back();
  }
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cmd_;
  GLINT_VK_CHECK(vkQueueSubmit(dev_.queue(), 1, &si, fence), "vkQueueSubmit");
  in_flight_.push_back({cmd_, fence, serial_, queries_, std::move(names_)});
  names_.clear();
  cmd_ = VK_NULL_HANDLE;
  queries_ = VK_NULL_HANDLE;
  ++serial_;
  ++total_submits_;
  // Retire whatever already finished, so deferred frees do not pile up in long eager runs.
  while (!in_flight_.empty() && vkGetFenceStatus(dev_.handle(), in_flight_.front().fence) == VK_SUCCESS) {
    retire(in_flight_.front());
    in_flight_.pop_front();
  }
}

void CommandStream::discard_open() {
  if (!cmd_) return;
  vkEndCommandBuffer(cmd_);
  vkResetCommandBuffer(cmd_, 0);
  free_cmds_.push_back(cmd_);
  if (queries_) free_query_pools_.push_back(queries_);
  cmd_ = VK_NULL_HANDLE;
  queries_ = VK_NULL_HANDLE;
  names_.clear();
  ++serial_;
}

void CommandStream::wait(uint64_t serial) {
  if (cmd_ && serial >= serial_) submit();
  while (!in_flight_.empty() && in_flight_.front().serial <= serial) {
    InFlight& f = in_flight_.front();
    VkResult r = vkWaitForFences(dev_.handle(), 1, &f.fence, VK_TRUE, UINT64_MAX);
    if (r != VK_SUCCESS) fail("vulkan", "waiting for ", dev_.info().name, " failed: ", vk_result_name(r));
    retire(f);
    in_flight_.pop_front();
  }
}

void CommandStream::retire(InFlight& f) {
  if (f.queries) {
    std::vector<uint64_t> ts(2 * f.names.size());
    if (!ts.empty() &&
        vkGetQueryPoolResults(dev_.handle(), f.queries, 0, uint32_t(ts.size()), ts.size() * sizeof(uint64_t), ts.data(),
                              sizeof(uint64_t), VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT) == VK_SUCCESS) {
      for (size_t i = 0; i < f.names.size(); ++i) {
        auto& s = profile_stats_[f.names[i]];
        s.first += 1;
        s.second += double(ts[2 * i + 1] - ts[2 * i]) * dev_.info().timestamp_period;
      }
    }
    free_query_pools_.push_back(f.queries);
  }
  vkResetFences(dev_.handle(), 1, &f.fence);
  vkResetCommandBuffer(f.cmd, 0);
  free_fences_.push_back(f.fence);
  free_cmds_.push_back(f.cmd);
  completed_ = f.serial;
  dev_.allocator().on_completed(f.serial);
}

void CommandStream::print_profile() {
  std::vector<std::pair<std::string, std::pair<uint64_t, double>>> rows(profile_stats_.begin(), profile_stats_.end());
  std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.second.second > b.second.second; });
  double total = 0;
  for (auto& r : rows) total += r.second.second;
  std::fprintf(stderr, "GPU time per shader on vulkan:%d (%s), %zu dispatches, %zu barriers, %zu submits:\n",
               dev_.index(), dev_.info().name.c_str(), total_dispatches_, total_barriers_, total_submits_);
  std::fprintf(stderr, "  %-32s %8s %12s %10s %6s\n", "shader", "calls", "total ms", "avg us", "%");
  for (auto& [name, s] : rows)
    std::fprintf(stderr, "  %-32s %8llu %12.3f %10.2f %6.1f\n", name.c_str(), (unsigned long long)s.first,
                 s.second / 1e6, s.second / 1e3 / double(s.first), total > 0 ? 100 * s.second / total : 0.0);
}

}  // namespace glint::vk
