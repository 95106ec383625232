// The tiny random-weight diffusion pipeline that the diffusion tests share (tests/data/diffusion, written by
// tools/make_diffusion_fixtures.py and tools/make_inpaint_fixtures.py): its folders, the f32 bound against diffusers /
// transformers, and the tensors of its fixture files.
#pragma once
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "runtime/io/safetensors.h"
#include "tests/harness.h"

namespace glint::test {

// tests/data/diffusion.
inline std::filesystem::path diffusion_dir() {
  return std::filesystem::path(__FILE__).parent_path() / "../data/diffusion";
}

// The tiny Stable Diffusion pipeline folder: text encoder, tokenizer, UNet, VAE and scheduler.
inline std::filesystem::path tiny_sd_dir() { return diffusion_dir() / "tiny-sd"; }

// The f32 bound of the parity tests against diffusers / transformers.
inline constexpr Tol kDiffusionTol{1e-3, 0};

// Tensor `name` of the safetensors fixture `file` in tests/data/diffusion, on the CPU; each file is opened once.
inline Tensor diffusion_fixture(const std::string& file, const std::string& name) {
  static std::map<std::string, std::shared_ptr<io::SafetensorsFile>> opened;
  std::shared_ptr<io::SafetensorsFile>& f = opened[file];
  if (!f) f = io::SafetensorsFile::open((diffusion_dir() / file).string());
  return f->tensor(name);
}

}  // namespace glint::test
