#include "runtime/io/bnb_4bit.h"

#include <charconv>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "runtime/core/error.h"

namespace glint::io {

std::string torch_dtype_name(DType t) {
  switch (t) {
    case DType::f32:
      return "float32";
    case DType::f16:
      return "float16";
    case DType::bf16:
      return "bfloat16";
    default:
      fail("bnb_4bit", "dtype ", dtype_name(t), " is not a float dtype");
  }
}

namespace {

constexpr const char* kStateKey = ".quant_state.bitsandbytes__";

// Python's repr of a float: the shortest digits that round-trip, positional for exponents -4 to 15, else
// d.ddde±XX; integral values keep ".0".
std::string python_float_repr(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string s(buf, r.ptr);
  const size_t e = s.find('e');
  const int exp = std::atoi(s.c_str() + e + 1);
  std::string sign, digits;
  for (size_t i = 0; i < e; ++i) {
    if (s[i] == '-')
      sign = "-";
    else if (s[i] != '.')
      digits += s[i];
  }
  if (exp < -4 || exp >= 16) {
    std::string out = sign + digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    const int a = std::abs(exp);
    return out + (exp < 0 ? "e-" : "e+") + (a < 10 ? "0" : "") + std::to_string(a);
  }
  if (exp < 0) return sign + "0." + std::string(size_t(-exp - 1), '0') + digits;
  if (digits.size() <= size_t(exp) + 1) return sign + digits + std::string(size_t(exp) + 1 - digits.size(), '0') + ".0";
  return sign + digits.substr(0, size_t(exp) + 1) + "." + digits.substr(size_t(exp) + 1);
}

std::string state_key(const Checkpoint& ckpt, const std::string& prefix) {
  for (const char* t : {"nf4", "fp4"})
    if (ckpt.contains(prefix + kStateKey + t)) return prefix + kStateKey + t;
  return {};
}

Tensor required(const Checkpoint& ckpt, const std::string& key, Device device) {
  GLINT_CHECK(ckpt.contains(key), "bnb_4bit", "missing tensor '", key, "'");
  return ckpt.tensor(key, device);
}

}  // namespace

std::string bnb_quant_state_json(const QuantState& s) {
  std::string shape = "[";
  for (size_t i = 0; i < s.shape.size(); ++i) shape += (i ? ", " : "") + std::to_string(s.shape[i]);
  shape += "]";
  std::string j = "{\"quant_type\": \"" + std::string(quant4_name(s.quant_type)) +
                  "\", \"blocksize\": " + std::to_string(s.blocksize) + ", \"dtype\": \"" + torch_dtype_name(s.dtype) +
                  "\", \"shape\": " + shape;
  if (s.nested())
    j += ", \"nested_blocksize\": " + std::to_string(s.nested_blocksize) +
         ", \"nested_dtype\": \"float32\", \"nested_offset\": " + python_float_repr(double(s.offset));
  return j + "}";
}

bool is_bnb_4bit(const Checkpoint& ckpt, const std::string& prefix) { return !state_key(ckpt, prefix).empty(); }

QuantizedTensor load_bnb_4bit(const Checkpoint& ckpt, const std::string& prefix, Device device) {
  const std::string key = state_key(ckpt, prefix);
  GLINT_CHECK(!key.empty(), "bnb_4bit", "missing tensor '", prefix, kStateKey, "nf4' (or __fp4)");
  const std::vector<uint8_t> bytes = ckpt.tensor(key).contiguous().to_vector<uint8_t>();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(bytes.begin(), bytes.end());
  } catch (const nlohmann::json::exception& e) {
    fail("bnb_4bit", key, ": invalid JSON: ", e.what());
  }
  QuantizedTensor q;
  QuantState& s = q.state;
  try {
    s.quant_type = parse_quant4(j.at("quant_type").get<std::string>());
    s.blocksize = j.at("blocksize").get<int64_t>();
    s.dtype = parse_dtype(j.at("dtype").get<std::string>());
    s.shape = j.at("shape").get<Shape>();
    if (j.contains("nested_offset")) {
      s.nested_blocksize = j.at("nested_blocksize").get<int64_t>();
      s.offset = j.at("nested_offset").get<float>();
    }
  } catch (const nlohmann::json::exception& e) {
    fail("bnb_4bit", key, ": ", e.what());
  }
  GLINT_CHECK(key.substr(key.size() - 3) == quant4_name(s.quant_type), "bnb_4bit", key, " says quant_type ",
              quant4_name(s.quant_type));
  q.packed = required(ckpt, prefix, device);
  s.absmax = required(ckpt, prefix + ".absmax", device);
  s.code = required(ckpt, prefix + ".quant_map", device);
  if (j.contains("nested_offset")) {
    s.nested_absmax = required(ckpt, prefix + ".nested_absmax", device);
    s.nested_code = required(ckpt, prefix + ".nested_quant_map", device);
  }
  q.packed = q.packed.reshape({q.packed.numel(), 1});
  try {  // validated now, so that a malformed checkpoint fails at load time naming the weight
    validate_4bit(q, "bnb_4bit");
  } catch (const Error& e) {
    const std::string msg = e.what();
    fail("bnb_4bit", prefix, ": ", msg.substr(msg.find("] ") + 2));
  }
  return q;
}

std::vector<std::pair<std::string, Tensor>> bnb_4bit_tensors(const std::string& prefix, const QuantizedTensor& q) {
  const QuantizedTensor c = q.to(Device::cpu());
  std::vector<std::pair<std::string, Tensor>> out = {
      {prefix, c.packed}, {prefix + ".absmax", c.state.absmax}, {prefix + ".quant_map", c.state.code}};
  if (c.state.nested()) {
    out.emplace_back(prefix + ".nested_absmax", c.state.nested_absmax);
    out.emplace_back(prefix + ".nested_quant_map", c.state.nested_code);
  }
  const std::string j = bnb_quant_state_json(c.state);
  out.emplace_back(
      prefix + kStateKey + std::string(quant4_name(c.state.quant_type)),
      Tensor::from_vector(std::vector<uint8_t>(j.begin(), j.end()), {int64_t(j.size())}, DType::u8, Device::cpu()));
  return out;
}

}  // namespace glint::io
