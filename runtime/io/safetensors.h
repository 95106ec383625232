// Safetensors files (https://huggingface.co/docs/safetensors): memory-mapped, validated before use, read zero-copy
// into CPU tensors or uploaded straight from the mapping to a device; and written the way the Python library writes.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "runtime/core/tensor.h"
#include "runtime/io/mapped_file.h"
#include "runtime/io/safetensors_dtype.h"

namespace glint::io {

// Headers larger than this are refused (the Python library's limit too).
inline constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;

struct TensorInfo {
  std::string name;
  StDType dtype;
  Shape shape;
  uint64_t begin, end;  // byte range inside the data section (after the header)
  uint64_t nbytes() const { return end - begin; }
};

class SafetensorsFile {
 public:
  // Maps and validates the whole header; every error names the file and, where there is one, the tensor.
  static std::shared_ptr<SafetensorsFile> open(const std::string& path);
  // Parses bytes already in memory; `owner` keeps them alive for the tensors that borrow them (null: the caller
  // keeps them alive longer than every tensor read). `name` is used in messages.
  static std::shared_ptr<SafetensorsFile> parse(std::span<const std::byte> bytes, std::string name,
                                                std::shared_ptr<const void> owner);

  const std::string& path() const { return path_; }
  std::vector<std::string> names() const;  // in file order (by offset)
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  const TensorInfo& info(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // The stored bytes of a tensor, as they are in the file.
  std::span<const std::byte> raw(const std::string& name) const;

  // The tensor as a glint tensor of dtype `as` (default: st_read_dtype) on `device`. On the CPU, natively
  // supported dtypes are views on the copy-on-write mapping (writing to them never changes the file; tensors of a
  // parse()d buffer write into that buffer). For a device, native bytes are uploaded straight from the mapping.
  Tensor tensor(const std::string& name, Device device = Device::cpu(), std::optional<DType> as = {}) const;

 private:
  SafetensorsFile(std::string path, std::span<const std::byte> bytes, std::shared_ptr<const void> owner)
      : path_(std::move(path)), bytes_(bytes), owner_(std::move(owner)) {}
  void parse_header();
  const std::byte* data(const TensorInfo& t) const { return bytes_.data() + data_start_ + t.begin; }

  std::string path_;
  std::span<const std::byte> bytes_;
  std::shared_ptr<const void> owner_;
  uint64_t data_start_ = 0;
  std::vector<TensorInfo> tensors_;  // sorted by offset
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// A tensor to write given as raw bytes (any safetensors dtype; bytes.size() must equal shape x dtype size).
struct RawTensor {
  std::string name;
  StDType dtype;
  Shape shape;
  std::span<const std::byte> bytes;
};

// The header the Python library writes for these tensors: tensors ordered by dtype alignment (largest first),
// then name; compact JSON with "__metadata__" first; padded with spaces to a multiple of 8 bytes. The u64 length
// prefix is not included. `order` receives the indices of `tensors` in data-section order.
std::string safetensors_header(const std::vector<RawTensor>& tensors,
                               const std::map<std::string, std::string>& metadata,
                               std::vector<size_t>* order = nullptr);

// Writes a safetensors file atomically (temporary file + rename); byte-identical to Python's safetensors.save_file
// for the same tensors and at most one metadata entry (Python orders several entries at random).
void save_safetensors(const std::string& path, const std::vector<RawTensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace glint::io
