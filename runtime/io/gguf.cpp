// GGUF parsing. Every count, length and offset in the file is checked against the bytes that remain before it is
// used, so a file that lies about its sizes is rejected without reading outside the mapping or allocating more
// than the file could describe.
#include "runtime/io/gguf.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include "runtime/core/error.h"
#include "runtime/io/gguf_dequant.h"

namespace glint::io {

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr int kMaxDims = 4;              // GGML_MAX_DIMS
constexpr int kMaxNesting = 16;          // arrays of arrays; real files use at most 2
constexpr size_t kMaxNameLength = 64 * 1024;

struct TypeRow {
  uint32_t id;
  GgmlTypeInfo info;
};
// Block sizes and bytes per block from ggml's type_traits; ids 4, 5 and 31-33, 36-38 were removed from ggml.
constexpr TypeRow kGgmlTypes[] = {
    {0, {"F32", 1, 4}},         {1, {"F16", 1, 2}},         {2, {"Q4_0", 32, 18}},      {3, {"Q4_1", 32, 20}},
    {6, {"Q5_0", 32, 22}},      {7, {"Q5_1", 32, 24}},      {8, {"Q8_0", 32, 34}},      {9, {"Q8_1", 32, 36}},
    {10, {"Q2_K", 256, 84}},    {11, {"Q3_K", 256, 110}},   {12, {"Q4_K", 256, 144}},   {13, {"Q5_K", 256, 176}},
    {14, {"Q6_K", 256, 210}},   {15, {"Q8_K", 256, 292}},   {16, {"IQ2_XXS", 256, 66}}, {17, {"IQ2_XS", 256, 74}},
    {18, {"IQ3_XXS", 256, 98}}, {19, {"IQ1_S", 256, 50}},   {20, {"IQ4_NL", 32, 18}},   {21, {"IQ3_S", 256, 110}},
    {22, {"IQ2_S", 256, 82}},   {23, {"IQ4_XS", 256, 136}}, {24, {"I8", 1, 1}},         {25, {"I16", 1, 2}},
    {26, {"I32", 1, 4}},        {27, {"I64", 1, 8}},        {28, {"F64", 1, 8}},        {29, {"IQ1_M", 256, 56}},
    {30, {"BF16", 1, 2}},       {34, {"TQ1_0", 256, 54}},   {35, {"TQ2_0", 256, 66}},   {39, {"MXFP4", 32, 17}},
};

// Bytes of one scalar of a metadata type; 0 for strings and arrays (variable length), -1 for unknown types.
int scalar_size(uint32_t t) {
  switch (static_cast<GgufType>(t)) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::BOOL:
      return 1;
    case GgufType::U16:
    case GgufType::I16:
      return 2;
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::F32:
      return 4;
    case GgufType::U64:
    case GgufType::I64:
    case GgufType::F64:
      return 8;
    case GgufType::STRING:
    case GgufType::ARRAY:
      return 0;
  }
  return -1;
}

template <class T>
T load_le(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;  // GGUF is little-endian, as are the hosts glint supports
}

// Decodes one scalar at p (its size already validated).
int64_t scalar_int(GgufType t, const std::byte* p, bool* overflow) {
  switch (t) {
    case GgufType::U8:
      return load_le<uint8_t>(p);
    case GgufType::I8:
      return load_le<int8_t>(p);
    case GgufType::U16:
      return load_le<uint16_t>(p);
    case GgufType::I16:
      return load_le<int16_t>(p);
    case GgufType::U32:
      return load_le<uint32_t>(p);
    case GgufType::I32:
      return load_le<int32_t>(p);
    case GgufType::I64:
      return load_le<int64_t>(p);
    case GgufType::U64: {
      uint64_t v = load_le<uint64_t>(p);
      if (v > uint64_t(std::numeric_limits<int64_t>::max())) *overflow = true;
      return int64_t(v);
    }
    default:
      return 0;
  }
}
bool is_integer(GgufType t) { return t <= GgufType::I32 || t == GgufType::U64 || t == GgufType::I64; }
bool is_number(GgufType t) { return is_integer(t) || t == GgufType::F32 || t == GgufType::F64; }

}  // namespace

const GgmlTypeInfo* ggml_type_info(uint32_t type) {
  for (const auto& row : kGgmlTypes)
    if (row.id == type) return &row.info;
  return nullptr;
}

std::string_view ggml_type_name(GgmlType type) {
  const GgmlTypeInfo* info = ggml_type_info(uint32_t(type));
  return info ? info->name : "unknown";
}

std::string_view gguf_type_name(GgufType type) {
  static constexpr std::string_view names[] = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                               "bool", "string", "array", "u64", "i64", "f64"};
  auto i = size_t(type);
  return i < std::size(names) ? names[i] : "unknown";
}

// A bounds-checked reader over the file; every read names what it was reading when it runs out of bytes.
class GgufFile::Parser {
 public:
  Parser(GgufFile& f) : f_(f), bytes_(f.bytes_) {}

  void run() {
    if (bytes_.size() < 8) fail("gguf", f_.name_, ": ", bytes_.size(), " bytes is too short for a GGUF header");
    if (u32("magic") != kMagic) fail("gguf", f_.name_, ": not a GGUF file (bad magic)");
    f_.version_ = u32("version");
    if (f_.version_ == 1) fail("gguf", f_.name_, ": GGUF version 1 is not supported (only 2 and 3)");
    if (f_.version_ == 0x03000000u || f_.version_ == 0x02000000u)
      fail("gguf", f_.name_, ": big-endian GGUF files are not supported");
    if (f_.version_ != 2 && f_.version_ != 3) fail("gguf", f_.name_, ": unknown GGUF version ", f_.version_);
    uint64_t n_tensors = u64("tensor count");
    uint64_t n_kv = u64("metadata count");
    // Each key/value takes at least 12 bytes (key length + type) and each tensor info at least 24.
    if (n_kv > remaining() / 12) fail("gguf", f_.name_, ": metadata count ", n_kv, " exceeds what the file can hold");
    f_.metadata_.reserve(n_kv);
    for (uint64_t i = 0; i < n_kv; ++i) read_kv(i);
    for (size_t i = 0; i < f_.metadata_.size(); ++i)
      if (!f_.key_index_.emplace(f_.metadata_[i].key_, i).second)
        fail("gguf", f_.name_, ": metadata key '", f_.metadata_[i].key_, "' appears twice");
    read_alignment();

    if (n_tensors > remaining() / 24) fail("gguf", f_.name_, ": tensor count ", n_tensors, " exceeds the file");
    f_.tensors_.reserve(n_tensors);
    for (uint64_t i = 0; i < n_tensors; ++i) read_tensor_info(i);
    for (size_t i = 0; i < f_.tensors_.size(); ++i)
      if (!f_.tensor_index_.emplace(f_.tensors_[i].name, i).second)
        fail("gguf", f_.name_, ": tensor '", f_.tensors_[i].name, "' appears twice");

    uint64_t a = f_.alignment_;
    f_.data_offset_ = (pos_ + a - 1) / a * a;  // pos_ <= file size, so no overflow
    check_tensor_ranges();
  }

 private:
  size_t remaining() const { return bytes_.size() - pos_; }
  void need(uint64_t n, std::string_view what) {
    if (n > remaining())
      fail("gguf", f_.name_, ": truncated while reading ", what, " (needs ", n, " bytes at offset ", pos_, ", ",
           remaining(), " left)");
  }
  template <class T>
  T read(std::string_view what) {
    need(sizeof(T), what);
    T v = load_le<T>(bytes_.data() + pos_);
    pos_ += sizeof(T);
    return v;
  }
  uint32_t u32(std::string_view what) { return read<uint32_t>(what); }
  uint64_t u64(std::string_view what) { return read<uint64_t>(what); }
  // A length-prefixed string (v2 and v3 use a u64 length), bounded by the file.
  std::string_view string(std::string_view what) {
    uint64_t n = u64(what);
    need(n, what);
    std::string_view s(reinterpret_cast<const char*>(bytes_.data() + pos_), size_t(n));
    pos_ += size_t(n);
    return s;
  }

  void read_kv(uint64_t index) {
    GgufValue v;
    v.file_ = f_.name_;
    std::string what = detail::concat("the key of metadata entry ", index);
    v.key_ = string(what);
    if (v.key_.size() > kMaxNameLength) fail("gguf", f_.name_, ": metadata key ", index, " is too long");
    std::string ctx = detail::concat("metadata '", v.key_, "'");
    uint32_t t = u32(ctx);
    if (scalar_size(t) < 0) fail("gguf", f_.name_, ": ", ctx, " has unknown value type ", t);
    v.type_ = static_cast<GgufType>(t);
    if (v.type_ == GgufType::ARRAY) {
      v.elem_type_ = static_cast<GgufType>(array_header(ctx, &v.count_));
      size_t start = pos_;
      skip_elements(uint32_t(v.elem_type_), v.count_, ctx, 1);
      v.bytes_ = bytes_.subspan(start, pos_ - start);
    } else {
      size_t start = pos_;
      skip_value(t, ctx, 0);
      v.bytes_ = bytes_.subspan(start, pos_ - start);
    }
    f_.metadata_.push_back(v);
  }

  // Reads an array's element type and count; the count is bounded by the bytes left for the elements.
  uint32_t array_header(const std::string& ctx, uint64_t* count) {
    uint32_t et = u32(ctx);
    int sz = scalar_size(et);
    if (sz < 0) fail("gguf", f_.name_, ": ", ctx, " is an array of unknown type ", et);
    *count = u64(ctx);
    uint64_t min_elem = sz > 0 ? uint64_t(sz) : et == uint32_t(GgufType::STRING) ? 8 : 12;
    if (*count > remaining() / min_elem)
      fail("gguf", f_.name_, ": ", ctx, " claims ", *count, " elements, more than the file holds");
    return et;
  }

  void skip_elements(uint32_t et, uint64_t count, const std::string& ctx, int depth) {
    int sz = scalar_size(et);
    if (sz > 0) {
      need(uint64_t(sz) * count, ctx);  // count was bounded by remaining()/sz, so no overflow
      pos_ += size_t(sz) * count;
      if (et == uint32_t(GgufType::BOOL))
        for (size_t i = pos_ - count; i < pos_; ++i)
          if (uint8_t(bytes_[i]) > 1) fail("gguf", f_.name_, ": ", ctx, " holds a bool that is not 0 or 1");
      return;
    }
    for (uint64_t i = 0; i < count; ++i) skip_value(et, ctx, depth);
  }

  void skip_value(uint32_t t, const std::string& ctx, int depth) {
    int sz = scalar_size(t);
    if (sz > 0) {
      need(uint64_t(sz), ctx);
      if (t == uint32_t(GgufType::BOOL) && uint8_t(bytes_[pos_]) > 1)
        fail("gguf", f_.name_, ": ", ctx, " is a bool that is not 0 or 1");
      pos_ += size_t(sz);
    } else if (t == uint32_t(GgufType::STRING)) {
      string(ctx);
    } else {
      if (depth >= kMaxNesting) fail("gguf", f_.name_, ": ", ctx, " nests arrays more than ", kMaxNesting, " deep");
      uint64_t n;
      uint32_t et = array_header(ctx, &n);
      skip_elements(et, n, ctx, depth + 1);
    }
  }

  void read_alignment() {
    const GgufValue* a = f_.find("general.alignment");
    if (!a) return;
    if (a->type() != GgufType::U32) fail("gguf", f_.name_, ": general.alignment must be a u32, not ", a->type_str());
    uint64_t v = uint64_t(a->as_int());
    if (v == 0 || !std::has_single_bit(v)) fail("gguf", f_.name_, ": general.alignment ", v, " is not a power of two");
    f_.alignment_ = v;
  }

  void read_tensor_info(uint64_t index) {
    GgufTensorInfo ti;
    ti.name = std::string(string(detail::concat("the name of tensor ", index)));
    if (ti.name.size() > kMaxNameLength) fail("gguf", f_.name_, ": the name of tensor ", index, " is too long");
    std::string ctx = detail::concat("tensor '", ti.name, "'");
    uint32_t nd = u32(ctx);
    if (nd > uint32_t(kMaxDims)) fail("gguf", f_.name_, ": ", ctx, " has ", nd, " dimensions (at most ", kMaxDims, ")");
    int64_t numel = 1;
    bool empty = false;
    for (uint32_t d = 0; d < nd; ++d) {
      uint64_t n = u64(ctx);
      if (n > uint64_t(std::numeric_limits<int64_t>::max()))
        fail("gguf", f_.name_, ": ", ctx, " has a negative dimension");
      ti.dims.push_back(int64_t(n));
      if (n == 0)
        empty = true;
      else if (!empty && numel > std::numeric_limits<int64_t>::max() / int64_t(n))
        fail("gguf", f_.name_, ": ", ctx, " has too many elements (", shape_str(ti.shape()), ")");
      else
        numel *= int64_t(n);
    }
    ti.numel = empty ? 0 : numel;
    uint32_t t = u32(ctx);
    const GgmlTypeInfo* info = ggml_type_info(t);
    if (!info) fail("gguf", f_.name_, ": ", ctx, " has unknown ggml type ", t);
    ti.type = static_cast<GgmlType>(t);
    int64_t row = ti.dims.empty() ? 1 : ti.dims[0];
    if (row % info->block_size != 0)
      fail("gguf", f_.name_, ": ", ctx, " has rows of ", row, " elements, not a multiple of the ", info->name,
           " block size ", info->block_size);
    uint64_t blocks = uint64_t(ti.numel / info->block_size);
    if (blocks > std::numeric_limits<uint64_t>::max() / info->type_size)
      fail("gguf", f_.name_, ": ", ctx, " is too large");
    ti.nbytes = blocks * info->type_size;
    ti.offset = u64(ctx);
    if (ti.offset % f_.alignment_ != 0)
      fail("gguf", f_.name_, ": ", ctx, " starts at data offset ", ti.offset, ", not a multiple of the alignment ",
           f_.alignment_);
    f_.tensors_.push_back(std::move(ti));
  }

  // Every tensor's bytes lie inside the file, and no two tensors share bytes.
  void check_tensor_ranges() {
    uint64_t data_size = f_.data_offset_ <= bytes_.size() ? bytes_.size() - f_.data_offset_ : 0;
    std::vector<const GgufTensorInfo*> order;
    for (const auto& t : f_.tensors_) {
      if (t.offset > data_size || t.nbytes > data_size - t.offset)
        fail("gguf", f_.name_, ": tensor '", t.name, "' (", shape_str(t.shape()), " x ", ggml_type_name(t.type), " = ",
             t.nbytes, " bytes at data offset ", t.offset, ") runs past the end of the file (data section is ",
             data_size, " bytes)");
      if (t.nbytes > 0) order.push_back(&t);
    }
    std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < order.size(); ++i)
      if (order[i - 1]->offset + order[i - 1]->nbytes > order[i]->offset)
        fail("gguf", f_.name_, ": tensors '", order[i - 1]->name, "' and '", order[i]->name, "' overlap");
  }

  GgufFile& f_;
  std::span<const std::byte> bytes_;
  size_t pos_ = 0;
};

std::shared_ptr<const GgufFile> GgufFile::open(const std::string& path) {
  auto mapped = MappedFile::open(path);
  return parse(mapped->bytes(), path, mapped);
}

std::shared_ptr<const GgufFile> GgufFile::parse(std::span<const std::byte> bytes, std::string name,
                                                std::shared_ptr<const void> owner) {
  std::shared_ptr<GgufFile> f(new GgufFile());
  f->name_ = std::move(name);
  f->bytes_ = bytes;
  f->owner_ = std::move(owner);
  Parser(*f).run();
  return f;
}

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = key_index_.find(key);
  return it == key_index_.end() ? nullptr : &metadata_[it->second];
}

const GgufValue& GgufFile::at(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) fail("gguf", name_, ": metadata key '", key, "' is missing");
  return *v;
}

std::optional<int64_t> GgufFile::find_int(std::string_view key) const {
  const GgufValue* v = find(key);
  return v ? std::optional(v->as_int()) : std::nullopt;
}
std::optional<double> GgufFile::find_float(std::string_view key) const {
  const GgufValue* v = find(key);
  return v ? std::optional(v->as_float()) : std::nullopt;
}
std::optional<std::string_view> GgufFile::find_string(std::string_view key) const {
  const GgufValue* v = find(key);
  return v ? std::optional(v->as_string()) : std::nullopt;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const GgufTensorInfo& GgufFile::tensor(std::string_view name) const {
  const GgufTensorInfo* t = find_tensor(name);
  if (!t) fail("gguf", name_, ": no tensor named '", name, "'");
  return *t;
}

std::span<const std::byte> GgufFile::tensor_bytes(const GgufTensorInfo& info) const {
  return bytes_.subspan(size_t(data_offset_ + info.offset), size_t(info.nbytes));
}

Tensor GgufFile::load(const GgufTensorInfo& info, DType dtype, Device device) const {
  auto src = tensor_bytes(info);
  bool same = (info.type == GgmlType::F32 && dtype == DType::f32) ||
              (info.type == GgmlType::F16 && dtype == DType::f16) ||
              (info.type == GgmlType::BF16 && dtype == DType::bf16);
  // Zero-copy needs element alignment; the data section is 32-byte aligned unless general.alignment says less.
  if (same && device.kind == DeviceKind::cpu && owner_ &&
      reinterpret_cast<uintptr_t>(src.data()) % dtype_size(dtype) == 0) {
    auto storage = std::make_shared<CpuStorage>(const_cast<std::byte*>(src.data()), src.size(),
                                                std::const_pointer_cast<void>(owner_));
    Shape shape = info.shape();
    return Tensor(storage, shape, contiguous_strides(shape), 0, dtype);
  }
  if (!ggml_can_dequantize(info.type))
    fail("gguf", name_, ": tensor '", info.name, "' has type ", ggml_type_name(info.type),
         ", which glint cannot dequantise yet");
  Tensor out = Tensor::empty(info.shape(), dtype, Device::cpu());
  dequantize(info.type, src, info.numel, dtype, out.data<void>());
  return out.to(device);
}

Shape GgufTensorInfo::shape() const { return Shape(dims.rbegin(), dims.rend()); }

// ---- GgufValue ----

void GgufValue::type_error(std::string_view wanted) const {
  fail("gguf", file_, ": metadata '", key_, "' is ", type_str(), ", expected ", wanted);
}

std::string GgufValue::type_str() const {
  if (!is_array()) return std::string(gguf_type_name(type_));
  return detail::concat("array[", gguf_type_name(elem_type_), "]");
}

int64_t GgufValue::as_int() const {
  if (!is_integer(type_)) type_error("an integer");
  bool overflow = false;
  int64_t v = scalar_int(type_, bytes_.data(), &overflow);
  if (overflow) fail("gguf", file_, ": metadata '", key_, "' does not fit in an int64");
  return v;
}

double GgufValue::as_float() const {
  if (type_ == GgufType::F32) return load_le<float>(bytes_.data());
  if (type_ == GgufType::F64) return load_le<double>(bytes_.data());
  if (!is_number(type_)) type_error("a number");
  return double(as_int());
}

bool GgufValue::as_bool() const {
  if (type_ != GgufType::BOOL) type_error("a bool");
  return bytes_[0] != std::byte{0};
}

std::string_view GgufValue::as_string() const {
  if (type_ != GgufType::STRING) type_error("a string");
  return {reinterpret_cast<const char*>(bytes_.data()) + 8, bytes_.size() - 8};
}

std::vector<std::string_view> GgufValue::as_strings() const {
  if (!is_array() || elem_type_ != GgufType::STRING) type_error("an array of strings");
  std::vector<std::string_view> out;
  out.reserve(count_);
  const std::byte* p = bytes_.data();
  for (uint64_t i = 0; i < count_; ++i) {
    size_t n = size_t(load_le<uint64_t>(p));  // lengths were validated by the parser
    out.emplace_back(reinterpret_cast<const char*>(p) + 8, n);
    p += 8 + n;
  }
  return out;
}

std::vector<int64_t> GgufValue::as_ints() const {
  if (!is_array() || !is_integer(elem_type_)) type_error("an array of integers");
  std::vector<int64_t> out(count_);
  size_t sz = size_t(scalar_size(uint32_t(elem_type_)));
  bool overflow = false;
  for (uint64_t i = 0; i < count_; ++i) out[i] = scalar_int(elem_type_, bytes_.data() + i * sz, &overflow);
  if (overflow) fail("gguf", file_, ": metadata '", key_, "' holds a value that does not fit in an int64");
  return out;
}

std::vector<double> GgufValue::as_floats() const {
  if (!is_array() || !is_number(elem_type_)) type_error("an array of numbers");
  std::vector<double> out(count_);
  size_t sz = size_t(scalar_size(uint32_t(elem_type_)));
  bool overflow = false;
  for (uint64_t i = 0; i < count_; ++i) {
    const std::byte* p = bytes_.data() + i * sz;
    out[i] = elem_type_ == GgufType::F32   ? load_le<float>(p)
             : elem_type_ == GgufType::F64 ? load_le<double>(p)
             : elem_type_ == GgufType::U64 ? double(load_le<uint64_t>(p))
                                           : double(scalar_int(elem_type_, p, &overflow));
  }
  return out;
}

namespace {
// Decodes one value of type t at p (validated bytes) into json and returns the position after it.
const std::byte* decode_json(GgufType t, const std::byte* p, nlohmann::json& out) {
  switch (t) {
    case GgufType::F32:
      out = load_le<float>(p);
      return p + 4;
    case GgufType::F64:
      out = load_le<double>(p);
      return p + 8;
    case GgufType::BOOL:
      out = p[0] != std::byte{0};
      return p + 1;
    case GgufType::U64:
      out = load_le<uint64_t>(p);
      return p + 8;
    case GgufType::STRING: {
      size_t n = size_t(load_le<uint64_t>(p));
      out = std::string(reinterpret_cast<const char*>(p) + 8, n);
      return p + 8 + n;
    }
    case GgufType::ARRAY: {
      auto et = static_cast<GgufType>(load_le<uint32_t>(p));
      uint64_t n = load_le<uint64_t>(p + 4);
      p += 12;
      out = nlohmann::json::array();
      for (uint64_t i = 0; i < n; ++i) p = decode_json(et, p, out.emplace_back());
      return p;
    }
    default: {
      bool overflow = false;
      out = scalar_int(t, p, &overflow);
      return p + scalar_size(uint32_t(t));
    }
  }
}
}  // namespace

nlohmann::json GgufValue::to_json() const {
  nlohmann::json out;
  if (!is_array()) {
    decode_json(type_, bytes_.data(), out);
    return out;
  }
  out = nlohmann::json::array();
  const std::byte* p = bytes_.data();
  for (uint64_t i = 0; i < count_; ++i) p = decode_json(elem_type_, p, out.emplace_back());
  return out;
}

std::string GgufValue::summary(size_t max_items) const {
  auto render = [](const nlohmann::json& j) {
    std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return s.size() > 200 ? s.substr(0, 197) + "..." : s;
  };
  if (!is_array()) return render(to_json());
  // Decode only the items shown: token arrays hold hundreds of thousands of strings.
  std::string s = "[";
  const std::byte* p = bytes_.data();
  for (uint64_t i = 0; i < std::min<uint64_t>(count_, max_items); ++i) {
    nlohmann::json item;
    p = decode_json(elem_type_, p, item);
    s += (i ? ", " : "") + render(item);
  }
  if (count_ > max_items) s += detail::concat(", ... (", count_, " items)");
  return s + "]";
}

}  // namespace glint::io
