// Fuzzes the safetensors reader: any bytes must either parse into tensors that lie inside the input, or fail with a
// glint::Error. What parses is written back through the writer's header and must parse to the same tensors.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "runtime/core/error.h"
#include "runtime/io/safetensors.h"

using namespace glint;

namespace {
// Reading converts data; bound it so one input stays fast.
constexpr uint64_t kReadBudget = 1 << 20;

void check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  std::shared_ptr<io::SafetensorsFile> f;
  try {
    f = io::SafetensorsFile::parse(bytes, "fuzz.safetensors", nullptr);
  } catch (const Error&) {
    return 0;
  }
  std::vector<io::RawTensor> raw;
  uint64_t budget = kReadBudget;
  for (const std::string& name : f->names()) {
    const io::TensorInfo& info = f->info(name);
    auto r = f->raw(name);
    check(r.data() >= bytes.data() && r.data() + r.size() <= bytes.data() + bytes.size());
    raw.push_back({name, info.dtype, info.shape, r});
    if (info.nbytes() > budget) continue;
    budget -= info.nbytes();
    try {
      Tensor t = f->tensor(name);
      check(t.numel() == 0 || uint64_t(t.numel()) * io::st_dtype_size(info.dtype) == info.nbytes());
      if (t.numel() > 0 && t.numel() < 4096) t.to_f32();
      f->tensor(name, Device::cpu(), DType::bf16);
    } catch (const Error&) {  // e.g. more dimensions than glint tensors have
    }
  }

  // Round trip through the writer's header.
  std::string header;
  std::vector<size_t> order;
  try {
    header = io::safetensors_header(raw, f->metadata(), &order);
  } catch (const Error&) {
    return 0;  // e.g. a name or metadata string the writer refuses
  }
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = char(uint64_t(header.size()) >> (8 * i));
  out += header;
  for (size_t i : order) out.append(reinterpret_cast<const char*>(raw[i].bytes.data()), raw[i].bytes.size());
  auto g = io::SafetensorsFile::parse({reinterpret_cast<const std::byte*>(out.data()), out.size()}, "rt", nullptr);
  check(g->names().size() == raw.size() && g->metadata() == f->metadata());
  for (const auto& t : raw) {
    const io::TensorInfo& info = g->info(t.name);
    check(info.dtype == t.dtype && info.shape == t.shape);
    auto r = g->raw(t.name);
    check(r.size() == t.bytes.size() && (r.empty() || std::memcmp(r.data(), t.bytes.data(), r.size()) == 0));
  }
  return 0;
}
