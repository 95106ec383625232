// GGUF import against gguf-py and transformers (fixtures from tools/make_gguf_fixtures.py): the synthetic files in
// tests/data/gguf always, the real SmolLM2-135M-Instruct Q4_1 file when it is present (GLINT_SMOLLM2_GGUF or the
// cache path the script extracts it to).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "runtime/core/error.h"
#include "runtime/io/gguf.h"
#include "runtime/io/gguf_dequant.h"
#include "runtime/io/gguf_model.h"
#include "tests/harness.h"

namespace glint::io {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kData = fs::path(__FILE__).parent_path() / "../data/gguf";

// A fixture's bytes; a missing fixture throws (the hostile-file tests index into them).
std::vector<std::byte> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open fixture " + p.string());
  std::vector<char> c((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(c.size());
  std::memcpy(out.data(), c.data(), c.size());
  return out;
}

json read_json(const fs::path& p) {
  std::ifstream in(p);
  return json::parse(in);
}

// The expected values of one fixture: the JSON and the raw f32 values it points into.
struct Expected {
  json doc;
  std::vector<float> values;
  explicit Expected(const std::string& name) : doc(read_json(kData / name)) {
    auto bytes = read_bytes(kData / doc["values"].get<std::string>());
    values.resize(bytes.size() / 4);
    std::memcpy(values.data(), bytes.data(), values.size() * 4);
  }
  std::vector<float> at(const json& ref) const {
    size_t off = ref["offset"], n = ref["count"];
    return {values.begin() + off, values.begin() + off + n};
  }
};

const Expected& tiny() {
  static const Expected e("tiny_expected.json");
  return e;
}

// Bit-exact: the dequantisers do what ggml and gguf-py do, operation for operation.
void expect_same_bits(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_EQ(std::memcmp(&got[i], &want[i], 4), 0) << what << " element " << i << ": " << got[i] << " vs " << want[i];
}

TEST(Gguf, ReadsHeaderAndEveryMetadataType) {
  auto f = GgufFile::open((kData / "tiny_llama_bpe.gguf").string());
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->alignment(), 32u);
  EXPECT_EQ(f->data_offset() % 32, 0u);
  EXPECT_EQ(f->at("test.u8").as_int(), 200);
  EXPECT_EQ(f->at("test.i8").as_int(), -100);
  EXPECT_EQ(f->at("test.u16").as_int(), 60000);
  EXPECT_EQ(f->at("test.i16").as_int(), -30000);
  EXPECT_EQ(f->at("test.u32").as_int(), 4000000000LL);
  EXPECT_EQ(f->at("test.i32").as_int(), -2000000000LL);
  EXPECT_EQ(f->at("test.f32").as_float(), 0.25);
  EXPECT_TRUE(f->at("test.bool").as_bool());
  EXPECT_EQ(f->at("test.string").as_string(), "héllo wörld");
  EXPECT_EQ(f->at("test.u64").to_json().get<uint64_t>(), 18000000000000000000ULL);
  EXPECT_GLINT_ERROR(f->at("test.u64").as_int(), "does not fit in an int64");
  EXPECT_EQ(f->at("test.i64").as_int(), -9000000000000000000LL);
  EXPECT_EQ(f->at("test.f64").as_float(), -1.5e300);
  EXPECT_EQ(f->at("test.array_i32").as_ints(), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(f->at("test.array_i32").type_str(), "array[i32]");
  auto strs = f->at("test.array_str").as_strings();
  EXPECT_EQ(std::vector<std::string>(strs.begin(), strs.end()), (std::vector<std::string>{"a", "bc", ""}));
  EXPECT_EQ(f->at("test.array_nested").to_json(), json::parse("[[1,2],[3],[4,5,6]]"));
  EXPECT_EQ(f->at("test.array_nested_str").to_json(), json::parse(R"([["x","y"],["z"]])"));
  EXPECT_EQ(f->at("test.array_nested").type_str(), "array[array]");
  EXPECT_EQ(f->at("test.array_str").summary(2), R"(["a", "bc", ... (3 items)])");
  EXPECT_EQ(f->find_string("general.architecture"), "llama");
  EXPECT_GLINT_ERROR(f->at("test.string").as_int(), "metadata 'test.string' is string, expected an integer");
  EXPECT_GLINT_ERROR(f->at("no.such.key"), "tiny_llama_bpe.gguf: metadata key 'no.such.key' is missing");
  EXPECT_GLINT_ERROR(f->tensor("nope"), "no tensor named 'nope'");
}

TEST(Gguf, DequantisesEveryTypeLikeGgufPy) {
  auto f = GgufFile::open((kData / "tiny_llama_bpe.gguf").string());
  int checked = 0;
  for (auto& [name, t] : tiny().doc["files"]["tiny_llama_bpe.gguf"]["tensors"].items()) {
    if (!t.contains("values")) continue;
    const GgufTensorInfo& info = f->tensor(name);
    EXPECT_EQ(ggml_type_name(info.type), t["type"].get<std::string>()) << name;
    if (!name.starts_with("dq.")) continue;  // model tensors are checked (un-permuted) through GgufModel
    auto want = tiny().at(t["values"]);
    expect_same_bits(f->load(info).to_f32(), want, name);
    // f16 / bf16 outputs are the f32 values rounded once.
    auto h = f->load(info, DType::f16).to_vector<uint16_t>();
    auto b = f->load(info, DType::bf16).to_vector<uint16_t>();
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(h[i], f32_to_f16(want[i])) << name << " f16 element " << i;
      ASSERT_EQ(b[i], f32_to_bf16(want[i])) << name << " bf16 element " << i;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 11);  // F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K Q5_K Q6_K
}

TEST(Gguf, PlainTensorsAreZeroCopyViewsOfTheMapping) {
  auto f = GgufFile::open((kData / "tiny_llama_bpe.gguf").string());
  const GgufTensorInfo& info = f->tensor("dq.F32");
  Tensor t = f->load(info);
  EXPECT_EQ(t.shape(), (Shape{3, 256}));
  EXPECT_EQ(static_cast<const void*>(t.data<float>()), static_cast<const void*>(f->tensor_bytes(info).data()));
  Tensor copy = f->load(f->tensor("dq.F16"));  // F16 read as f32: dequantised into new memory
  EXPECT_NE(static_cast<const void*>(copy.data<float>()), static_cast<const void*>(f->tensor_bytes(info).data()));
}

TEST(Gguf, ModelHasHfNamesConfigAndUnpermutedWeights) {
  for (const char* file : {"tiny_llama_bpe.gguf", "tiny_llama_spm.gguf"}) {
    SCOPED_TRACE(file);
    const json& want = tiny().doc["files"][file];
    GgufModel m = load_gguf((kData / file).string());
    std::vector<std::string> names;
    for (auto& [gguf_name, t] : want["tensors"].items()) {
      std::string hf = t["hf"];
      names.push_back(hf);
      EXPECT_EQ(gguf_to_hf_name(gguf_name), hf);
      Tensor w = m.tensor(hf);
      EXPECT_EQ(w.shape(), t["shape"].get<Shape>()) << hf;
      if (t.contains("values")) expect_same_bits(w.to_f32(), tiny().at(t["values"]), hf);
    }
    for (auto& n : m.names)
      if (!n.starts_with("dq.")) EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
    // Every key transformers writes, with its value.
    for (auto& [key, value] : want["config"].items()) {
      if (key == "transformers_version") continue;
      EXPECT_EQ(m.config[key], value) << key;
    }
    EXPECT_EQ(m.config["rope_theta"], 50000.0);
    EXPECT_EQ(m.config["architectures"], json({"LlamaForCausalLM"}));
  }
  GgufModel spm = load_gguf((kData / "tiny_llama_spm.gguf").string());
  EXPECT_EQ(spm.file().alignment(), 64u);
  EXPECT_EQ(spm.config["tie_word_embeddings"], true);
  EXPECT_EQ(std::count(spm.names.begin(), spm.names.end(), "lm_head.weight"), 0);
  // f16 weights come back as f16 without a detour, and agree with the f32 view.
  Tensor v = spm.tensor("model.layers.1.self_attn.v_proj.weight", DType::f16);
  EXPECT_EQ(v.dtype(), DType::f16);
  EXPECT_CLOSE(v.to(DType::f32), spm.tensor("model.layers.1.self_attn.v_proj.weight"), test::Tol{0, 0});
  EXPECT_GLINT_ERROR(spm.tensor("model.layers.9.mlp.up_proj.weight"), "no tensor maps to the HF name");
}

TEST(Gguf, TensorsLoadOntoEveryDevice) {
  GgufModel m = load_gguf((kData / "tiny_llama_bpe.gguf").string());
  for (Device dev : test::test_devices())
    for (const char* name : {"model.layers.0.self_attn.q_proj.weight", "dq.Q6_K", "dq.F32"})
      for (DType dt : {DType::f32, DType::bf16}) {
        Tensor t = m.tensor(name, dt, dev);
        EXPECT_EQ(t.device(), dev) << name;
        EXPECT_EQ(t.dtype(), dt) << name;
        EXPECT_EQ(t.to_f32(), m.tensor(name).to(dt).to_f32()) << name << " on " << dev.str();
      }
}

TEST(Gguf, UnpermutesRopeRowsLikeTransformers) {
  // 2 heads of 4 rows: GGUF row 2i + j holds HF row 2j + i within each head.
  Tensor t = Tensor::from_vector(std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7}, {8, 1}, DType::f32, Device::cpu());
  EXPECT_EQ(unpermute_rope_rows(t, 2).to_f32(), (std::vector<float>{0, 2, 1, 3, 4, 6, 5, 7}));
  EXPECT_GLINT_ERROR(unpermute_rope_rows(t, 3), "rope permutation");
}

TEST(Gguf, TokenizerMatchesTransformers) {
  for (const char* file : {"tiny_llama_bpe.gguf", "tiny_llama_spm.gguf"}) {
    SCOPED_TRACE(file);
    const json& want = tiny().doc["files"][file];
    GgufModel m = load_gguf((kData / file).string());
    EXPECT_EQ(m.tokenizer, want["tokenizer"]) << json::diff(want["tokenizer"], m.tokenizer).dump(1);
    for (const char* key : {"bos_token", "eos_token", "unk_token", "pad_token"})
      EXPECT_EQ(m.tokenizer_config[key], want["tokenizer_config"][key]) << key;
    EXPECT_EQ(m.tokenizer_config["chat_template"], want["chat_template"]);
  }
}

TEST(Gguf, AcceptsVersion2) {
  auto bytes = read_bytes(kData / "tiny_llama_bpe.gguf");
  bytes[4] = std::byte{2};
  auto f = GgufFile::parse(bytes, "v2.gguf");
  EXPECT_EQ(f->version(), 2u);
  EXPECT_EQ(f->tensors().size(), GgufFile::open((kData / "tiny_llama_bpe.gguf").string())->tensors().size());
}

// ---- hostile files ----

// Offset of the first occurrence of `s` in the bytes (the fixtures hold each key and tensor name once).
size_t find(const std::vector<std::byte>& b, std::string_view s) {
  auto it = std::search(b.begin(), b.end(), s.begin(), s.end(),
                        [](std::byte x, char c) { return x == std::byte(uint8_t(c)); });
  EXPECT_NE(it, b.end()) << s;
  return size_t(it - b.begin());
}
template <class T>
void put(std::vector<std::byte>& b, size_t at, T v) {
  std::memcpy(b.data() + at, &v, sizeof v);
}
template <class T>
T get(const std::vector<std::byte>& b, size_t at) {
  T v;
  std::memcpy(&v, b.data() + at, sizeof v);
  return v;
}
// Where a tensor's info fields start: n_dims, then dims, type, offset.
size_t tensor_fields(const std::vector<std::byte>& b, std::string_view name) { return find(b, name) + name.size(); }

struct Corruption {
  const char* what;
  std::function<void(std::vector<std::byte>&)> edit;
  const char* error;
};

TEST(Gguf, RejectsCorruptFilesWithNamedErrors) {
  const auto good = read_bytes(kData / "tiny_llama_bpe.gguf");
  auto value_of = [&](std::vector<std::byte>& b, std::string_view key) { return find(b, key) + key.size() + 4; };
  const Corruption cases[] = {
      {"short", [](auto& b) { b.resize(6); }, "too short for a GGUF header"},
      {"magic", [](auto& b) { b[0] = std::byte{'X'}; }, "not a GGUF file"},
      {"v1", [](auto& b) { put<uint32_t>(b, 4, 1); }, "GGUF version 1 is not supported"},
      {"big-endian", [](auto& b) { put<uint32_t>(b, 4, 0x03000000u); }, "big-endian"},
      {"v9", [](auto& b) { put<uint32_t>(b, 4, 9); }, "unknown GGUF version 9"},
      {"kv count", [](auto& b) { put<uint64_t>(b, 16, 1ull << 60); }, "metadata count"},
      {"tensor count", [](auto& b) { put<uint64_t>(b, 8, 1ull << 60); }, "tensor count"},
      {"duplicate key", [&](auto& b) { b[find(b, "test.u8") + 5] = std::byte{'i'}; }, "'test.i8' appears twice"},
      {"value type", [&](auto& b) { put<uint32_t>(b, value_of(b, "test.u8") - 4, 77); }, "unknown value type 77"},
      {"string length", [&](auto& b) { put<uint64_t>(b, value_of(b, "test.string"), 1ull << 40); },
       "truncated while reading metadata 'test.string'"},
      {"array count", [&](auto& b) { put<uint64_t>(b, value_of(b, "test.array_i32") + 4, 1ull << 61); },
       "metadata 'test.array_i32' claims"},
      {"array type", [&](auto& b) { put<uint32_t>(b, value_of(b, "test.array_i32"), 55); }, "array of unknown type"},
      {"bool", [&](auto& b) { b[value_of(b, "test.bool")] = std::byte{7}; }, "bool that is not 0 or 1"},
      {"dims", [&](auto& b) { put<uint32_t>(b, tensor_fields(b, "dq.Q4_K"), 5); }, "tensor 'dq.Q4_K' has 5 dimensions"},
      {"ggml type", [&](auto& b) { put<uint32_t>(b, tensor_fields(b, "dq.Q4_K") + 4 + 16, 99); },
       "tensor 'dq.Q4_K' has unknown ggml type 99"},
      {"block", [&](auto& b) { put<uint64_t>(b, tensor_fields(b, "dq.Q4_K") + 4, 255); },
       "not a multiple of the Q4_K block size 256"},
      {"elements", [&](auto& b) { put<uint64_t>(b, tensor_fields(b, "dq.F32") + 4, 1ull << 62); },
       "tensor 'dq.F32' has too many elements"},
      {"past end", [&](auto& b) { put<uint64_t>(b, tensor_fields(b, "dq.Q6_K") + 4 + 16 + 4, 1ull << 40); },
       "tensor 'dq.Q6_K' ((3,256) x Q6_K = 630 bytes at data offset 1099511627776)"},
      {"size lie", [&](auto& b) { put<uint64_t>(b, tensor_fields(b, "dq.F32") + 4 + 8, 1ull << 30); },
       "runs past the end of the file"},
      {"misaligned",
       [&](auto& b) {
         size_t at = tensor_fields(b, "dq.Q6_K") + 4 + 16 + 4;
         put<uint64_t>(b, at, get<uint64_t>(b, at) + 2);
       },
       "not a multiple of the alignment"},
      {"overlap",
       [&](auto& b) {
         put<uint64_t>(b, tensor_fields(b, "dq.Q6_K") + 4 + 16 + 4,
                       get<uint64_t>(b, tensor_fields(b, "dq.Q5_K") + 4 + 16 + 4));
       },
       "overlap"},
      {"duplicate tensor", [&](auto& b) { b[find(b, "dq.Q5_K") + 4] = std::byte{'6'}; }, "'dq.Q6_K' appears twice"},
  };
  for (const auto& c : cases) {
    auto b = good;
    c.edit(b);
    EXPECT_GLINT_ERROR(GgufFile::parse(b, "bad.gguf"), c.error) << c.what;
    EXPECT_GLINT_ERROR(GgufFile::parse(b, "bad.gguf"), "[gguf] bad.gguf: ") << c.what;
  }
}

TEST(Gguf, RejectsAlignmentThatIsNotAPowerOfTwo) {
  auto b = read_bytes(kData / "tiny_llama_spm.gguf");
  put<uint32_t>(b, find(b, "general.alignment") + 17 + 4, 48);
  EXPECT_GLINT_ERROR(GgufFile::parse(b, "a.gguf"), "general.alignment 48 is not a power of two");
}

TEST(Gguf, RejectsDeeplyNestedArrays) {
  // One key whose value nests 40 arrays of one element each.
  std::vector<std::byte> b(24);
  put<uint32_t>(b, 0, 0x46554747);
  put<uint32_t>(b, 4, 3);
  put<uint64_t>(b, 8, 0);
  put<uint64_t>(b, 16, 1);
  auto append = [&](auto v) {
    size_t at = b.size();
    b.resize(at + sizeof v);
    put(b, at, v);
  };
  append(uint64_t(1));
  b.push_back(std::byte{'k'});
  append(uint32_t(9));
  for (int i = 0; i < 40; ++i) {
    append(uint32_t(9));
    append(uint64_t(1));
  }
  append(uint32_t(0));
  append(uint64_t(1));
  b.push_back(std::byte{1});
  EXPECT_GLINT_ERROR(GgufFile::parse(b, "deep.gguf"), "nests arrays more than 16 deep");
}

TEST(Gguf, EveryTruncationIsRejectedCleanly) {
  const auto good = read_bytes(kData / "tiny_llama_bpe.gguf");
  auto full = GgufFile::parse(good, "full.gguf");
  uint64_t end = 0;
  for (auto& t : full->tensors()) end = std::max(end, full->data_offset() + t.offset + t.nbytes);
  for (size_t n = 0; n < end; n += (n < full->data_offset() ? 1 : 97)) {
    std::vector<std::byte> b(good.begin(), good.begin() + n);
    EXPECT_THROW(GgufFile::parse(b, "cut.gguf"), Error) << n;
  }
}

TEST(Gguf, LoadRefusesOtherArchitectures) {
  auto b = read_bytes(kData / "tiny_llama_spm.gguf");
  size_t at = find(b, "general.architecture") + 20 + 4 + 8;
  std::memcpy(b.data() + at, "gpt2x", 5);
  fs::path p = fs::temp_directory_path() / "glint_gguf_arch.gguf";
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
  EXPECT_GLINT_ERROR(load_gguf(p.string()), "architecture 'gpt2x' is not supported");
  fs::remove(p);
}

// ---- the real SmolLM2-135M-Instruct Q4_1 file ----

std::string smollm2_path() {
  if (const char* env = std::getenv("GLINT_SMOLLM2_GGUF")) return env;
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  fs::path cache = xdg ? fs::path(xdg) : fs::path(home ? home : "/") / ".cache";
  return (cache / "glint/gguf/SmolLM2-135M-Instruct.Q4_1.gguf").string();
}

TEST(GgufSmolLM2, MatchesGgufPyAndTransformers) {
  std::string path = smollm2_path();
  if (!fs::exists(path)) GTEST_SKIP() << "no " << path << " (run tools/make_gguf_fixtures.py)";
  static const Expected want("smollm2_expected.json");
  const json& d = want.doc;

  auto t0 = std::chrono::steady_clock::now();
  GgufModel m = load_gguf(path);
  double open_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const GgufFile& f = m.file();
  EXPECT_EQ(f.version(), d["version"].get<uint32_t>());
  EXPECT_EQ(f.file_size(), d["file_size"].get<uint64_t>());
  for (auto& [key, value] : d["metadata"].items()) {
    json got = f.at(key).to_json();
    if (value.is_number_float())
      EXPECT_DOUBLE_EQ(got.get<double>(), value.get<double>()) << key;
    else
      EXPECT_EQ(got, value) << key;
  }
  ASSERT_EQ(f.tensors().size(), d["tensors"].size());
  for (size_t i = 0; i < f.tensors().size(); ++i) {
    const auto& t = f.tensors()[i];
    const json& w = d["tensors"][i];
    EXPECT_EQ(t.name, w["name"]);
    EXPECT_EQ(ggml_type_name(t.type), w["type"].get<std::string>()) << t.name;
    EXPECT_EQ(t.dims, w["dims"].get<std::vector<int64_t>>()) << t.name;
    EXPECT_EQ(f.data_offset() + t.offset, w["offset"].get<uint64_t>()) << t.name;
    EXPECT_EQ(gguf_to_hf_name(t.name), d["names"][t.name]["hf"]) << t.name;
  }
  for (auto& [name, rows] : d["samples"].items()) {
    Tensor w = m.tensor(gguf_to_hf_name(name));
    for (auto& [row, ref] : rows.items()) {
      Tensor r = row == "all" ? w : w.select(0, std::stoll(row));
      expect_same_bits(r.to_f32(), want.at(ref), name + " row " + row);
    }
  }
  for (auto& [key, value] : d["config"].items())
    if (key != "transformers_version") EXPECT_EQ(m.config[key], value) << key;

  // tokenizer.json: everything but the bulk of the vocabulary and merges, which are compared by size and samples.
  json tok = m.tokenizer, model = tok["model"];
  tok.erase("model");
  json want_tok = d["tokenizer"], want_model = want_tok["model"];
  want_tok.erase("model");
  EXPECT_EQ(tok, want_tok) << json::diff(want_tok, tok).dump(1);
  EXPECT_EQ(model["vocab"].size(), want_model["vocab_size"].get<size_t>());
  EXPECT_EQ(model["merges"].size(), want_model["merges_count"].get<size_t>());
  for (size_t i = 0; i < want_model["merges_head"].size(); ++i)
    EXPECT_EQ(model["merges"][i], want_model["merges_head"][i]);
  for (auto& [token, id] : want_model["vocab_sample"].items()) EXPECT_EQ(model["vocab"][token], id) << token;
  for (const char* key : {"type", "dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk",
                          "byte_fallback", "ignore_merges"})
    EXPECT_EQ(model[key], want_model[key]) << key;
  for (const char* key : {"bos_token", "eos_token", "unk_token", "pad_token"})
    EXPECT_EQ(m.tokenizer_config[key], d["tokenizer_config"][key]) << key;
  EXPECT_EQ(m.tokenizer_config["chat_template"], d["chat_template"]);

  t0 = std::chrono::steady_clock::now();
  size_t params = 0;
  for (const auto& name : m.names) params += size_t(m.tensor(name).numel());
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("SmolLM2 Q4_1: open + config + tokenizer %.0f ms; %zu parameters dequantised to f32 in %.0f ms\n",
              open_ms, params, ms);
  EXPECT_EQ(params, 134515008u);
}

}  // namespace
}  // namespace glint::io
