#include "runtime/io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "runtime/core/error.h"
#include "runtime/io/atomic_file.h"

namespace glint::io {

namespace {

using nlohmann::json;

// JSON string literal of s; the format requires UTF-8 names and values.
std::string quote(const std::string& s, const std::string& file, std::string_view what) {
  try {
    return json(s).dump();
  } catch (const json::exception&) {
    fail("safetensors", file, ": ", what, " is not valid UTF-8");
  }
}

// Reads an integer that must be non-negative and fit in uint64 (JSON numbers may be floats or negative).
std::optional<uint64_t> as_u64(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return uint64_t(v.get<int64_t>());
  return std::nullopt;
}

TensorInfo parse_entry(const std::string& file, const std::string& name, const json& e) {
  auto bad = [&](const auto&... why) { fail("safetensors", file, ": tensor '", name, "': ", why...); };
  if (!e.is_object()) bad("entry is not an object");
  auto dt = e.find("dtype"), sh = e.find("shape"), off = e.find("data_offsets");
  if (dt == e.end() || sh == e.end() || off == e.end()) bad("entry needs 'dtype', 'shape' and 'data_offsets'");
  if (!dt->is_string()) bad("'dtype' is not a string");
  auto type = parse_st_dtype(dt->get_ref<const std::string&>());
  if (!type) bad("unknown dtype '", dt->get_ref<const std::string&>(), "'");
  TensorInfo t{name, *type, {}, 0, 0};
  if (!sh->is_array()) bad("'shape' is not an array");
  uint64_t numel = 1;
  for (const json& d : *sh) {
    auto v = as_u64(d);
    if (!v || *v > uint64_t(INT64_MAX))
      bad("shape ", sh->dump(), " has a dimension that is not a non-negative integer");
    t.shape.push_back(int64_t(*v));
    if (__builtin_mul_overflow(numel, *v, &numel)) bad("shape ", sh->dump(), " has more elements than fit in 64 bits");
  }
  if (!off->is_array() || off->size() != 2 || !as_u64((*off)[0]) || !as_u64((*off)[1]))
    bad("'data_offsets' is not a pair of non-negative integers: ", off->dump());
  t.begin = *as_u64((*off)[0]);
  t.end = *as_u64((*off)[1]);
  if (t.end < t.begin) bad("data_offsets [", t.begin, ",", t.end, "] end before they begin");
  uint64_t nbytes;
  if (__builtin_mul_overflow(numel, st_dtype_size(t.dtype), &nbytes) || nbytes != t.end - t.begin)
    bad("has shape ", shape_str(t.shape), " x ", st_dtype_name(t.dtype), " = ", numel, " elements x ",
        st_dtype_size(t.dtype), " bytes but its data range is ", t.end - t.begin, " bytes");
  return t;
}

}  // namespace

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  auto mapped = MappedFile::open(path);
  auto bytes = mapped->bytes();
  return parse(bytes, path, std::move(mapped));
}

std::shared_ptr<SafetensorsFile> SafetensorsFile::parse(std::span<const std::byte> bytes, std::string name,
                                                        std::shared_ptr<const void> owner) {
  // CpuStorage frees borrowed memory whose owner is null, so bytes the caller keeps alive get a no-op owner.
  static const int kCallerOwned = 0;
  if (!owner) owner = std::shared_ptr<const void>(&kCallerOwned, [](const void*) {});
  std::shared_ptr<SafetensorsFile> f(new SafetensorsFile(std::move(name), bytes, std::move(owner)));
  f->parse_header();
  return f;
}

void SafetensorsFile::parse_header() {
  const std::string& file = path_;
  if (bytes_.size() < 8) fail("safetensors", file, ": file is ", bytes_.size(), " bytes, too short for a header");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | uint64_t(bytes_[i]);  // little-endian u64
  if (n > bytes_.size() - 8)
    fail("safetensors", file, ": header length ", n, " is larger than the file (", bytes_.size(), " bytes)");
  if (n > kMaxSafetensorsHeader)
    fail("safetensors", file, ": header length ", n, " exceeds the limit of ", kMaxSafetensorsHeader, " bytes");
  data_start_ = 8 + n;
  const char* text = reinterpret_cast<const char*>(bytes_.data() + 8);
  json header;
  try {
    header = json::parse(text, text + n);
  } catch (const json::exception& e) {
    fail("safetensors", file, ": header is not valid JSON: ", e.what());
  }
  if (!header.is_object()) fail("safetensors", file, ": header is not a JSON object");

  uint64_t data_size = bytes_.size() - data_start_;
  for (auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) fail("safetensors", file, ": __metadata__ is not an object");
      for (auto& [k, v] : entry.items()) {
        if (!v.is_string()) fail("safetensors", file, ": __metadata__ value of '", k, "' is not a string: ", v.dump());
        metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    TensorInfo t = parse_entry(file, name, entry);
    if (t.end > data_size)
      fail("safetensors", file, ": tensor '", name, "': data_offsets [", t.begin, ",", t.end,
           "] reach past the data section (", data_size, " bytes)");
    tensors_.push_back(std::move(t));
  }
  std::stable_sort(tensors_.begin(), tensors_.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  for (size_t i = 1; i < tensors_.size(); ++i) {
    const TensorInfo &a = tensors_[i - 1], &b = tensors_[i];
    if (b.begin < a.end)
      fail("safetensors", file, ": tensors '", a.name, "' [", a.begin, ",", a.end, ") and '", b.name, "' [", b.begin,
           ",", b.end, ") overlap");
  }
  for (size_t i = 0; i < tensors_.size(); ++i) index_[tensors_[i].name] = i;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const auto& t : tensors_) out.push_back(t.name);
  return out;
}

const TensorInfo& SafetensorsFile::info(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) fail("safetensors", path_, ": no tensor named '", name, "'");
  return tensors_[it->second];
}

std::span<const std::byte> SafetensorsFile::raw(const std::string& name) const {
  const TensorInfo& t = info(name);
  return {data(t), size_t(t.nbytes())};
}

Tensor SafetensorsFile::tensor(const std::string& name, Device device, std::optional<DType> as) const {
  const TensorInfo& t = info(name);
  GLINT_CHECK(t.shape.size() <= size_t(kMaxDims), "safetensors", path_, ": tensor '", name, "' has ", t.shape.size(),
              " dimensions; glint tensors have at most ", kMaxDims);
  const std::byte* src = data(t);
  DType read = st_read_dtype(t.dtype);
  Tensor out;
  if (!st_is_native(t.dtype)) {
    out = Tensor::empty(t.shape, read, Device::cpu());
    st_decode(t.dtype, src, size_t(out.numel()), out.data<std::byte>());
  } else if (!device.is_cpu()) {
    return Tensor::from_bytes(src, t.shape, read, device).to(as.value_or(read));  // straight from the mapping
  } else if (reinterpret_cast<uintptr_t>(src) % dtype_size(read) == 0) {
    // Zero-copy: the storage borrows the mapping and keeps it alive.
    auto storage = std::make_shared<CpuStorage>(const_cast<std::byte*>(src), size_t(t.nbytes()),
                                                std::const_pointer_cast<void>(owner_));
    out = Tensor(std::move(storage), t.shape, contiguous_strides(t.shape), 0, read);
  } else {
    out = Tensor::from_bytes(src, t.shape, read, Device::cpu());  // misaligned for its dtype: copy
  }
  return out.to(as.value_or(read)).to(device);
}

namespace {
std::string make_header(const std::vector<RawTensor>& tensors, const std::map<std::string, std::string>& metadata,
                        std::vector<size_t>* order_out, const std::string& file) {
  // The Python library (Rust core) sorts by its Dtype enum, declared from smallest to largest alignment, descending.
  auto rank = [](StDType t) {
    constexpr StDType kAscending[] = {StDType::BOOL,    StDType::U8,  StDType::I8,  StDType::F8_E5M2,
                                      StDType::F8_E4M3, StDType::I16, StDType::F16, StDType::BF16,
                                      StDType::I32,     StDType::F32, StDType::F64, StDType::I64};
    return std::find(std::begin(kAscending), std::end(kAscending), t) - std::begin(kAscending);
  };
  std::vector<size_t> order(tensors.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    auto ra = rank(tensors[a].dtype), rb = rank(tensors[b].dtype);
    return ra != rb ? ra > rb : tensors[a].name < tensors[b].name;
  });
  for (size_t i = 1; i < order.size(); ++i)
    if (tensors[order[i]].name == tensors[order[i - 1]].name)
      fail("safetensors", file, ": tensor name '", tensors[order[i]].name, "' appears twice");

  std::string h = "{";
  if (!metadata.empty()) {
    h += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : metadata) {
      if (!first) h += ",";
      h += quote(k, file, "a metadata key");
      h += ":";
      h += quote(v, file, "metadata value of '" + k + "'");
      first = false;
    }
    h += "}";
  }
  uint64_t offset = 0;
  for (size_t i : order) {
    const RawTensor& t = tensors[i];
    GLINT_CHECK(t.name != "__metadata__", "safetensors", file, ": '__metadata__' cannot be a tensor name");
    uint64_t numel = 1;
    bool overflow = false;
    for (int64_t d : t.shape) {
      GLINT_CHECK(d >= 0, "safetensors", file, ": tensor '", t.name, "' has a negative dimension in ",
                  shape_str(t.shape));
      overflow |= __builtin_mul_overflow(numel, uint64_t(d), &numel);
    }
    uint64_t nbytes = 0;
    overflow |= __builtin_mul_overflow(numel, st_dtype_size(t.dtype), &nbytes);
    GLINT_CHECK(!overflow && nbytes == t.bytes.size(), "safetensors", file, ": tensor '", t.name, "' has shape ",
                shape_str(t.shape), " x ", st_dtype_name(t.dtype), " but ", t.bytes.size(), " bytes");
    if (h.size() > 1) h += ",";
    h += quote(t.name, file, "tensor name '" + t.name + "'");
    h += ":{\"dtype\":\"";
    h += st_dtype_name(t.dtype);
    h += "\",\"shape\":[";
    for (size_t d = 0; d < t.shape.size(); ++d) {
      if (d) h += ",";
      h += std::to_string(t.shape[d]);
    }
    h += "],\"data_offsets\":[";
    h += std::to_string(offset);
    h += ",";
    h += std::to_string(offset + t.bytes.size());
    h += "]}";
    offset += t.bytes.size();
  }
  h += "}";
  h.resize((h.size() + 7) / 8 * 8, ' ');
  if (order_out) *order_out = std::move(order);
  return h;
}
}  // namespace

std::string safetensors_header(const std::vector<RawTensor>& tensors,
                               const std::map<std::string, std::string>& metadata, std::vector<size_t>* order) {
  return make_header(tensors, metadata, order, "safetensors header");
}

void save_safetensors(const std::string& path, const std::vector<RawTensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::vector<size_t> order;
  std::string header = make_header(tensors, metadata, &order, path);
  AtomicFile f(path, "safetensors");
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = uint8_t(uint64_t(header.size()) >> (8 * i));
  f.write(len, 8);
  f.write(header);
  for (size_t i : order) f.write(tensors[i].bytes.data(), tensors[i].bytes.size());
  f.commit();
}

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  // Contiguous CPU tensors are written from their memory; others are read into host buffers first.
  std::vector<std::vector<std::byte>> buffers;
  buffers.reserve(tensors.size());
  std::vector<RawTensor> raw;
  for (const auto& [name, t] : tensors) {
    GLINT_CHECK(t.defined(), "safetensors", path, ": tensor '", name, "' is undefined");
    std::span<const std::byte> bytes;
    if (t.device().is_cpu() && t.is_contiguous()) {
      bytes = {t.data<std::byte>(), t.nbytes()};
    } else {
      buffers.emplace_back(t.nbytes());
      t.read_bytes(buffers.back().data());
      bytes = buffers.back();
    }
    raw.push_back({name, st_dtype_of(t.dtype()), t.shape(), bytes});
  }
  save_safetensors(path, raw, metadata);
}

}  // namespace glint::io
