// Safetensors: parity with files written by the Python library (tools/make_safetensors_fixtures.py), zero-copy and
// device reads, byte-identical writes, atomic replacement, and an error for every way a file can lie.
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "runtime/core/error.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/config.h"
#include "runtime/io/safetensors.h"
#include "tests/harness.h"
#include "tests/io/io_test_util.h"

namespace glint::test {
namespace {

using io::SafetensorsFile;
using io::StDType;
using nlohmann::json;
namespace fs = std::filesystem;

std::string fixture(const std::string& name) { return (io_data_dir() / "safetensors" / name).string(); }

// Checks every element of `t` against the values the Python script recorded ("nan", "inf", "-inf" as strings).
void expect_values(const Tensor& t, const json& want, const std::string& name) {
  ASSERT_EQ(size_t(t.numel()), want.size()) << name;
  if (is_floating(t.dtype())) {
    std::vector<float> got = t.to_f32();
    for (size_t i = 0; i < got.size(); ++i) {
      const json& w = want[i];
      if (w.is_string()) {
        std::string s = w.get<std::string>();
        if (s == "nan")
          EXPECT_TRUE(std::isnan(got[i])) << name << "[" << i << "] = " << got[i];
        else
          EXPECT_EQ(got[i], s == "inf" ? INFINITY : -INFINITY) << name << "[" << i << "]";
      } else {
        float wf = float(w.get<double>());  // exact: the script wrote f32-representable values
        EXPECT_EQ(got[i], wf) << name << "[" << i << "]";
        EXPECT_EQ(std::signbit(got[i]), std::signbit(wf)) << name << "[" << i << "] sign of zero";
      }
    }
  } else {
    std::vector<int64_t> got = t.to(DType::i64).to_vector<int64_t>();
    for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], want[i].get<int64_t>()) << name << "[" << i << "]";
  }
}

// A file from a header text and data bytes, with the 8-byte length prefix written as given.
std::string st_bytes(const std::string& header, const std::string& data = "", std::optional<uint64_t> len = {}) {
  uint64_t n = len.value_or(header.size());
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = char(n >> (8 * i));
  return out + header + data;
}

TEST(Safetensors, ReadsEveryDTypeAsPythonWroteIt) {
  auto f = SafetensorsFile::open(fixture("all_dtypes.safetensors"));
  json expected = io::read_json_file(fixture("expected.json"));
  EXPECT_EQ(f->names().size(), expected.size());
  EXPECT_EQ(f->metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));
  for (auto& [name, want] : expected.items()) {
    const io::TensorInfo& info = f->info(name);
    Tensor t = f->tensor(name);
    EXPECT_EQ(t.shape(), want["shape"].get<Shape>()) << name;
    EXPECT_EQ(t.dtype(), io::st_read_dtype(info.dtype)) << name;
    expect_values(t, want["values"], name);
  }
  EXPECT_EQ(f->info("f8_e4m3").dtype, StDType::F8_E4M3);
  EXPECT_EQ(f->tensor("i16").dtype(), DType::i32);
  EXPECT_EQ(f->tensor("bool").dtype(), DType::u8);
}

TEST(Safetensors, DecodesFp8Exactly) {
  // Spot values from the OCP FP8 spec, independent of the fixture.
  EXPECT_EQ(io::f8_e4m3_to_f32(0x7e), 448.f);
  EXPECT_EQ(io::f8_e4m3_to_f32(0x01), 0x1p-9f);
  EXPECT_EQ(io::f8_e4m3_to_f32(0x08), 0x1p-6f);
  EXPECT_EQ(io::f8_e4m3_to_f32(0xb8), -1.f);
  EXPECT_TRUE(std::isnan(io::f8_e4m3_to_f32(0x7f)) && std::isnan(io::f8_e4m3_to_f32(0xff)));
  EXPECT_EQ(io::f8_e4m3_to_f32(0x78), 256.f);  // exponent 15 is finite in E4M3FN
  EXPECT_EQ(io::f8_e5m2_to_f32(0x7b), 57344.f);
  EXPECT_EQ(io::f8_e5m2_to_f32(0x7c), INFINITY);
  EXPECT_EQ(io::f8_e5m2_to_f32(0x01), 0x1p-16f);
}

TEST(Safetensors, ConvertsToARequestedDType) {
  auto f = SafetensorsFile::open(fixture("all_dtypes.safetensors"));
  // Every E4M3 and E5M2 value is exact in f16, so the request must not round.
  for (const char* name : {"f8_e4m3", "f8_e5m2"}) {
    Tensor h = f->tensor(name, Device::cpu(), DType::f16);
    EXPECT_EQ(h.dtype(), DType::f16);
    std::vector<float> a = h.to_f32(), b = f->tensor(name).to_f32();
    for (size_t i = 0; i < a.size(); ++i)
      EXPECT_TRUE(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i]))) << name << "[" << i << "]";
  }
  EXPECT_EQ(f->tensor("bf16", Device::cpu(), DType::f32).dtype(), DType::f32);
  EXPECT_EQ(f->tensor("i8", Device::cpu(), DType::i64).to_vector<int64_t>(),
            (std::vector<int64_t>{0, 1, -1, 127, -128, 42}));
}

TEST(Safetensors, CpuTensorsAreViewsOnTheMapping) {
  auto f = SafetensorsFile::open(fixture("all_dtypes.safetensors"));
  for (const char* name : {"f32", "f16", "bf16", "i64", "i32", "i8", "u8"}) {
    Tensor t = f->tensor(name);
    EXPECT_EQ(t.data<std::byte>(), f->raw(name).data()) << name << " was copied";
  }
  Tensor conv = f->tensor("f64");
  EXPECT_NE(conv.data<std::byte>(), f->raw("f64").data());
  // Writing into a view is private to the process: the file keeps its bytes.
  std::string before = read_file(fixture("all_dtypes.safetensors"));
  Tensor w = f->tensor("f32");
  w.data<float>()[0] = 42.f;
  EXPECT_EQ(f->tensor("f32").to_f32()[0], 42.f);
  EXPECT_EQ(read_file(fixture("all_dtypes.safetensors")), before);
  EXPECT_EQ(SafetensorsFile::open(fixture("all_dtypes.safetensors"))->tensor("f32").to_f32()[0], 0.f);
  // The tensor keeps the mapping alive after the file object is gone.
  Tensor t = f->tensor("i32");
  f.reset();
  EXPECT_EQ(t.to_vector<int32_t>(), (std::vector<int32_t>{0, 1, -1, 2147483647, -2147483647 - 1, 123456}));
}

TEST(Safetensors, ParsesBytesInMemory) {
  std::string bytes = read_file(fixture("all_dtypes.safetensors"));
  {
    auto f = SafetensorsFile::parse({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()}, "mem", nullptr);
    Tensor t = f->tensor("i8");
    EXPECT_EQ(t.data<std::byte>(), f->raw("i8").data());  // a view on the caller's bytes, which it must not free
    EXPECT_EQ(t.to_vector<int8_t>(), (std::vector<int8_t>{0, 1, -1, 127, -128, 42}));
  }
  EXPECT_GLINT_ERROR(SafetensorsFile::parse({}, "mem", nullptr), "[safetensors] mem: file is 0 bytes");
}

TEST(Safetensors, CopiesDataMisalignedForItsDType) {
  TempDir dir;
  // A 3-byte header (no padding) puts the f32 data at offset 11.
  std::string header = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  float v[2] = {1.5f, -2.f};
  write_file(dir / "odd.safetensors", st_bytes(header, std::string(reinterpret_cast<char*>(v), 8)));
  auto f = SafetensorsFile::open(dir / "odd.safetensors");
  ASSERT_NE(reinterpret_cast<uintptr_t>(f->raw("x").data()) % 4, 0u);
  Tensor t = f->tensor("x");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data<float>()) % 4, 0u);
  EXPECT_EQ(t.to_f32(), (std::vector<float>{1.5f, -2.f}));
}

TEST(Safetensors, UploadsToEveryVulkanDevice) {
  auto f = SafetensorsFile::open(fixture("all_dtypes.safetensors"));
  json expected = io::read_json_file(fixture("expected.json"));
  for (Device d : vulkan_devices()) {
    for (const char* name : {"f32", "bf16", "i64", "f8_e5m2", "bool", "empty", "scalar"}) {
      Tensor t = f->tensor(name, d);
      EXPECT_EQ(t.device(), d) << name;
      expect_values(t.to(Device::cpu()), expected[name]["values"], name);
    }
    Tensor h = f->tensor("f32", d, DType::f16);
    EXPECT_EQ(h.dtype(), DType::f16);
    EXPECT_EQ(h.to_f32()[2], 1.f);
  }
}

TEST(Safetensors, WritesTheBytesPythonWrites) {
  TempDir dir;
  auto f = SafetensorsFile::open(fixture("all_dtypes.safetensors"));
  std::vector<io::RawTensor> raw;
  std::vector<std::string> names = f->names();
  for (auto it = names.rbegin(); it != names.rend(); ++it) {  // input order must not matter
    const io::TensorInfo& i = f->info(*it);
    raw.push_back({i.name, i.dtype, i.shape, f->raw(i.name)});
  }
  io::save_safetensors(dir / "out.safetensors", raw, {{"format", "pt"}});
  EXPECT_EQ(read_file(dir / "out.safetensors"), read_file(fixture("all_dtypes.safetensors")));

  // The Tensor overload, from a non-contiguous view on every device: Python wrote arange(6).reshape(2,3).
  for (Device d : test_devices()) {
    Tensor x = Tensor::from_vector(std::vector<float>{0, 3, 1, 4, 2, 5}, {3, 2}, DType::f32, d).transpose(0, 1);
    io::save_safetensors(dir / "x.safetensors", {{"x", x}});
    EXPECT_EQ(read_file(dir / "x.safetensors"), read_file(fixture("x.safetensors"))) << d.str();
  }
}

TEST(Safetensors, RoundTripsEveryGlintDType) {
  TempDir dir;
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (DType t : kAllDTypes) {
    Tensor x = is_floating(t) ? rand({3, 5}, t, Device::cpu(), 7) : randint({3, 5}, -100, 100, t, Device::cpu(), 7);
    if (t == DType::u8) x = randint({3, 5}, 0, 255, t, Device::cpu(), 7);
    tensors.emplace_back(std::string(dtype_name(t)), x);
  }
  io::save_safetensors(dir / "rt.safetensors", tensors, {{"note", "round trip"}});
  auto f = SafetensorsFile::open(dir / "rt.safetensors");
  EXPECT_EQ(f->metadata().at("note"), "round trip");
  for (const auto& [name, x] : tensors) {
    Tensor y = f->tensor(name);
    ASSERT_EQ(y.dtype(), x.dtype()) << name;
    std::vector<std::byte> a(x.nbytes()), b(y.nbytes());
    x.read_bytes(a.data());
    y.read_bytes(b.data());
    EXPECT_EQ(a, b) << name;
  }
}

class SafetensorsErrors : public ::testing::Test {
 protected:
  // Writes the file and checks opening it fails with a message naming the file and containing `needle`.
  ::testing::AssertionResult rejects(const std::string& bytes, const std::string& needle) {
    std::string path = dir_ / "bad.safetensors";
    write_file(path, bytes);
    auto r = throws_with([&] { SafetensorsFile::open(path); }, needle);
    if (!r) return r;
    return throws_with([&] { SafetensorsFile::open(path); }, "[safetensors] " + path + ": ");
  }
  static std::string entry(const std::string& name, const std::string& dtype, const std::string& shape,
                           const std::string& offsets) {
    return "\"" + name + R"(":{"dtype":")" + dtype + R"(","shape":)" + shape + R"(,"data_offsets":)" + offsets + "}";
  }
  TempDir dir_;
};

TEST_F(SafetensorsErrors, RejectsBadFramingAndJson) {
  EXPECT_TRUE(rejects("abc", "too short"));
  EXPECT_TRUE(rejects(st_bytes("{}", "", 4096), "header length 4096 is larger than the file"));
  EXPECT_TRUE(rejects(st_bytes("{\"a\": [1, 2"), "header is not valid JSON"));
  EXPECT_TRUE(rejects(st_bytes("[1,2]"), "header is not a JSON object"));
  EXPECT_TRUE(rejects(st_bytes("{\"\xff\": 1}"), "header is not valid JSON"));  // invalid UTF-8
  EXPECT_TRUE(rejects(st_bytes(R"({"__metadata__":{"a":1}})"), "__metadata__ value of 'a' is not a string"));
  EXPECT_TRUE(rejects(st_bytes(R"({"__metadata__":["a"]})"), "__metadata__ is not an object"));
}

TEST_F(SafetensorsErrors, RejectsAHeaderOverTheLimit) {
  // A sparse file just large enough that the length is within the file but over the cap.
  std::string path = dir_ / "huge.safetensors";
  write_file(path, st_bytes("{}", "", io::kMaxSafetensorsHeader + 1));
  ASSERT_EQ(truncate(path.c_str(), off_t(io::kMaxSafetensorsHeader + 16)), 0);
  EXPECT_GLINT_ERROR(SafetensorsFile::open(path), "exceeds the limit of 100000000 bytes");
}

TEST_F(SafetensorsErrors, RejectsEntriesThatLie) {
  std::string d8(8, '\0');
  auto one = [&](const std::string& e) { return st_bytes("{" + e + "}", d8); };
  EXPECT_TRUE(rejects(one(entry("w", "F12", "[2]", "[0,8]")), "tensor 'w': unknown dtype 'F12'"));
  EXPECT_TRUE(rejects(one(R"("w":{"dtype":"F32","shape":[2]})"), "tensor 'w': entry needs"));
  EXPECT_TRUE(rejects(one(R"("w":[1])"), "tensor 'w': entry is not an object"));
  EXPECT_TRUE(rejects(one(entry("w", "F32", "[-2]", "[0,8]")), "tensor 'w': shape [-2] has a dimension"));
  EXPECT_TRUE(rejects(one(entry("w", "F32", "[2.5]", "[0,8]")), "tensor 'w': shape [2.5]"));
  EXPECT_TRUE(rejects(one(entry("w", "F32", "[3]", "[0,8]")),
                      "tensor 'w': has shape (3) x F32 = 3 elements x 4 bytes but its data range is 8 bytes"));
  EXPECT_TRUE(rejects(one(entry("w", "U8", "[4294967296,4294967296]", "[0,8]")), "more elements than fit"));
  EXPECT_TRUE(rejects(one(entry("w", "F32", "[2]", "[8,0]")), "tensor 'w': data_offsets [8,0] end before"));
  EXPECT_TRUE(rejects(one(entry("w", "F32", "[2]", "[0]")), "tensor 'w': 'data_offsets' is not a pair"));
  EXPECT_TRUE(rejects(one(entry("w", "F32", "[4]", "[0,16]")), "tensor 'w': data_offsets [0,16] reach past"));
  EXPECT_TRUE(rejects(one(entry("w", "U8", "[8]", "[18446744073709551608,18446744073709551616]")),
                      "tensor 'w': 'data_offsets' is not a pair"));
  EXPECT_TRUE(
      rejects(st_bytes("{" + entry("a", "F32", "[2]", "[0,8]") + "," + entry("b", "F32", "[1]", "[4,8]") + "}", d8),
              "tensors 'a' [0,8) and 'b' [4,8) overlap"));
}

TEST_F(SafetensorsErrors, RefusesTooManyDimensionsOnRead) {
  std::string path = dir_ / "rank9.safetensors";
  write_file(path, st_bytes("{" + entry("w", "U8", "[1,1,1,1,1,1,1,1,2]", "[0,2]") + "}", "ab"));
  auto f = SafetensorsFile::open(path);
  EXPECT_EQ(f->info("w").shape.size(), 9u);
  EXPECT_GLINT_ERROR(f->tensor("w"), "tensor 'w' has 9 dimensions");
  EXPECT_GLINT_ERROR(f->info("nope"), "no tensor named 'nope'");
}

TEST(SafetensorsWrite, ReplacesFilesAtomically) {
  TempDir dir;
  std::string path = dir / "w.safetensors";
  Tensor a = Tensor::from_vector(std::vector<float>{1, 2}, {2}, DType::f32, Device::cpu());
  io::save_safetensors(path, {{"a", a}});
  std::string before = read_file(path);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);

  EXPECT_GLINT_ERROR(io::save_safetensors(path, {{"a", a}, {"a", a}}), "tensor name 'a' appears twice");
  EXPECT_GLINT_ERROR(io::save_safetensors(path, {{"b", a}, {"__metadata__", a}}), "cannot be a tensor name");
  EXPECT_GLINT_ERROR(io::save_safetensors(path, {{"b", Tensor()}}), "tensor 'b' is undefined");
  EXPECT_EQ(read_file(path), before);

  // A writer that fails part-way leaves the old file and no temporary behind.
  try {
    io::AtomicFile f(path, "test");
    f.write("partial");
    EXPECT_TRUE(fs::exists(f.temp_path()));
    throw Error("disk full");
  } catch (const Error&) {
  }
  EXPECT_EQ(read_file(path), before);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
  EXPECT_GLINT_ERROR(io::save_safetensors((dir.path() / "no" / "such" / "dir.safetensors").string(), {{"a", a}}),
                     "cannot create a temporary file");
}

}  // namespace
}  // namespace glint::test
