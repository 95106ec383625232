// GGUF reader: the header, metadata and tensor table of a llama.cpp model file, validated in full before use, with
// tensor data borrowed from the memory mapping. Dequantisation lives in gguf_dequant.h; the HF view in gguf_model.h.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/core/tensor.h"
#include "runtime/io/mapped_file.h"

namespace glint::io {

// ggml tensor types as numbered in ggml.h (the numbers are the file format).
// clang-format off
enum class GgmlType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9, Q2_K = 10, Q3_K = 11, Q4_K = 12,
  Q5_K = 13, Q6_K = 14, Q8_K = 15, IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21,
  IQ2_S = 22, IQ4_XS = 23, I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30, TQ1_0 = 34,
  TQ2_0 = 35, MXFP4 = 39,
};
// clang-format on

// Storage layout of a ggml type: `block_size` elements take `type_size` bytes.
struct GgmlTypeInfo {
  std::string_view name;
  int64_t block_size;
  size_t type_size;
};
// nullptr for numbers that are not a ggml type (or were removed from the format).
const GgmlTypeInfo* ggml_type_info(uint32_t type);
std::string_view ggml_type_name(GgmlType type);

// Metadata value types as numbered in the GGUF specification.
// clang-format off
enum class GgufType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7, STRING = 8, ARRAY = 9, U64 = 10, I64 = 11,
  F64 = 12,
};
// clang-format on
std::string_view gguf_type_name(GgufType type);

// One metadata value, decoded on demand from the (already validated) bytes of the mapping. Errors name the file
// and the key. Valid while the GgufFile that produced it lives.
class GgufValue {
 public:
  GgufType type() const { return type_; }
  bool is_array() const { return type_ == GgufType::ARRAY; }
  GgufType elem_type() const { return elem_type_; }  // arrays only
  uint64_t size() const { return count_; }           // arrays only: number of elements
  std::string_view key() const { return key_; }
  std::string type_str() const;  // "u32", "string", "array[string]", "array[array]"

  // Scalars: any integer type converts to int64 (a u64 above INT64_MAX is an error), any number to double.
  int64_t as_int() const;
  double as_float() const;
  bool as_bool() const;
  std::string_view as_string() const;
  // Arrays of one scalar kind.
  std::vector<std::string_view> as_strings() const;
  std::vector<int64_t> as_ints() const;
  std::vector<double> as_floats() const;
  // Any value, nested arrays included; strings are kept as raw bytes (dump with error_handler_t::replace).
  nlohmann::json to_json() const;
  // A short human rendering: scalars in full, arrays as "[a, b, c, ... (N items)]".
  std::string summary(size_t max_items = 8) const;

 private:
  friend class GgufFile;
  [[noreturn]] void type_error(std::string_view wanted) const;
  std::string_view key_, file_;
  GgufType type_ = GgufType::U8, elem_type_ = GgufType::U8;
  uint64_t count_ = 0;
  std::span<const std::byte> bytes_;  // the encoded value after its type tag (for arrays: after type and count)
};

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> dims;  // ggml order: dims[0] varies fastest
  GgmlType type;
  uint64_t offset;  // from the start of the data section
  uint64_t nbytes;
  int64_t numel;
  Shape shape() const;  // row-major (PyTorch / HF) order: dims reversed
};

class GgufFile {
 public:
  // Maps and validates `path`; throws "[gguf] <path>: ..." naming the key or tensor at fault.
  static std::shared_ptr<const GgufFile> open(const std::string& path);
  // Validates bytes already in memory (`name` is used in messages; `owner` keeps the bytes alive).
  static std::shared_ptr<const GgufFile> parse(std::span<const std::byte> bytes, std::string name,
                                               std::shared_ptr<const void> owner = {});

  const std::string& path() const { return name_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // where the data section starts in the file
  uint64_t file_size() const { return bytes_.size(); }

  const std::vector<GgufValue>& metadata() const { return metadata_; }  // in file order
  const GgufValue* find(std::string_view key) const;
  const GgufValue& at(std::string_view key) const;  // throws naming the missing key
  std::optional<int64_t> find_int(std::string_view key) const;
  std::optional<double> find_float(std::string_view key) const;
  std::optional<std::string_view> find_string(std::string_view key) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }  // in file order
  const GgufTensorInfo* find_tensor(std::string_view name) const;
  const GgufTensorInfo& tensor(std::string_view name) const;  // throws naming the missing tensor
  std::span<const std::byte> tensor_bytes(const GgufTensorInfo& info) const;
  // Dequantised copy (or, for F32/F16/BF16 read as themselves on the CPU, a zero-copy view of the mapping).
  Tensor load(const GgufTensorInfo& info, DType dtype = DType::f32, Device device = Device::cpu()) const;

  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

 private:
  class Parser;
  GgufFile() = default;
  std::string name_;
  std::span<const std::byte> bytes_;
  std::shared_ptr<const void> owner_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32, data_offset_ = 0;
  std::vector<GgufValue> metadata_;
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string_view, size_t> key_index_, tensor_index_;
};

}  // namespace glint::io
