// `glint txt2img | img2img | inpaint` end to end on the tiny pipeline (tests/data/diffusion/tiny-sd): the PNGs and
// grid it writes, that they are the library's images, and its errors for bad sizes, images and folders.
#include <filesystem>
#include <string>

#include "models/diffusion/pipeline.h"
#include "runtime/io/image.h"
#include "tests/harness.h"
#include "tests/io/cli_test_util.h"
#include "tests/io/io_test_util.h"
#include "tests/models/diffusion_fixture.h"

namespace glint::test {
namespace {

namespace fs = std::filesystem;

class DiffuseCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (glint_binary().empty()) GTEST_SKIP() << "the glint CLI was not built";
  }
  // Runs `glint <mode> tiny-sd <args>` on the CPU.
  std::pair<std::string, int> glint(const std::string& mode, const std::string& args,
                                    const std::string& model = tiny_sd_dir().string()) const {
    return run_command(glint_binary().string() + " " + mode + " " + model + " --device cpu " + args);
  }
  // A 16 x 16 RGB PNG in the temporary folder.
  std::string write_input(const std::string& name, int64_t w = 16, int64_t h = 16, int64_t c = 3) const {
    io::Image im{w, h, c, std::vector<uint8_t>(size_t(w * h * c))};
    for (size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = uint8_t(i * 7 % 256);
    io::write_png(dir_ / name, im);
    return dir_ / name;
  }
  TempDir dir_;
};

TEST_F(DiffuseCli, Txt2ImgWritesEachImageAndAGridMatchingTheLibrary) {
  const std::string out = dir_ / "out";
  auto [log, rc] = glint("txt2img",
                         "--prompt 'a photo of the cat' --negative-prompt 'the dog' --batch 3 --steps 2 "
                         "--width 16 --height 16 --seed 4 --out " +
                             out);
  ASSERT_EQ(rc, 0) << log;
  EXPECT_NE(log.find("wrote 3 images to " + out + " (and grid.png)"), std::string::npos) << log;
  std::vector<io::Image> images;
  for (const char* name : {"00000.png", "00001.png", "00002.png"}) images.push_back(io::read_png(out + "/" + name));
  const io::Image grid = io::read_png(out + "/grid.png");
  EXPECT_EQ(grid.width, 32);  // 3 images: 2 columns x 2 rows
  EXPECT_EQ(grid.height, 32);
  EXPECT_EQ(grid.pixels, io::make_grid(images).pixels);

  // The library's images for the same options, written the same way.
  const auto pipe = diffusion::StableDiffusionPipeline::from_pretrained(tiny_sd_dir().string(), Device::cpu());
  diffusion::Txt2ImgOptions o;
  o.prompts = {"a photo of the cat"};
  o.negative_prompts = {"the dog"};
  o.images_per_prompt = 3;
  o.steps = 2;
  o.width = o.height = 16;
  o.seed = 4;
  const std::vector<io::Image> want = io::to_images(pipe->txt2img(o));
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(images[i].pixels, want[i].pixels) << i;
  EXPECT_FALSE(fs::exists(out + "/00003.png"));
}

TEST_F(DiffuseCli, Img2ImgAndInpaintWithOtherSchedulersAndTiledDecode) {
  const std::string image = write_input("in.png"), mask = write_input("mask.png", 16, 16, 1);
  auto [log, rc] = glint("img2img", "--prompt 'the dog' --image " + image +
                                        " --strength 0.5 --steps 4 --scheduler euler-a --out " + (dir_ / "i2i"));
  ASSERT_EQ(rc, 0) << log;
  EXPECT_EQ(io::read_png(dir_ / "i2i/00000.png").width, 16);
  EXPECT_FALSE(fs::exists(dir_ / "i2i/grid.png"));  // one image, no grid

  std::tie(log, rc) = glint("inpaint", "--prompt 'the dog' -p 'the cat' --image " + image + " --mask " + mask +
                                           " --steps 2 --scheduler dpm++2m-karras --out " + (dir_ / "inp"));
  ASSERT_EQ(rc, 0) << log;
  EXPECT_EQ(io::read_png(dir_ / "inp/grid.png").width, 32);

  // 32 x 32 images are 16 x 16 latents: tiles of 8 (the tiny VAE's sample_size 16 / 2). The model after a prompt
  // stays the positional.
  std::tie(log, rc) =
      run_command(glint_binary().string() + " txt2img -p 'the cat' " + tiny_sd_dir().string() +
                  " --device cpu --steps 1 --width 32 --height 32 --tiled-vae --out " + (dir_ / "tiled"));
  ASSERT_EQ(rc, 0) << log;
  EXPECT_EQ(io::read_png(dir_ / "tiled/00000.png").height, 32);
}

TEST_F(DiffuseCli, ErrorsNameTheProblem) {
  const std::string out = " --out " + (dir_ / "out");
  auto expect_error = [&](const std::string& mode, const std::string& args, const std::string& needle,
                          const std::string& model = tiny_sd_dir().string()) {
    auto [log, rc] = glint(mode, args + out, model);
    EXPECT_EQ(rc, 1) << log;
    EXPECT_NE(log.find(needle), std::string::npos) << "wanted '" << needle << "' in:\n" << log;
  };
  expect_error("txt2img", "-p x --width 20 --height 16", "error: [txt2img] --width 20 --height 16: both must be");
  const std::string odd = write_input("odd.png", 12, 16);
  expect_error("img2img", "-p x --image " + odd, odd + ": 12x16 is not a multiple of 8");
  const std::string text = dir_ / "text.png";
  write_file(text, "not an image");
  expect_error("img2img", "-p x --image " + text, text + ": not a PNG file");
  const std::string image = write_input("in.png"), small_mask = write_input("m.png", 8, 16, 1);
  expect_error("inpaint", "-p x --image " + image + " --mask " + small_mask, small_mask + " is 8x16 but " + image);
  expect_error("txt2img", "-p x --scheduler nope --width 16 --height 16", "unknown scheduler 'nope'");

  fs::copy(tiny_sd_dir(), dir_.path() / "no-vae", fs::copy_options::recursive);
  fs::remove_all(dir_.path() / "no-vae" / "vae");
  expect_error("txt2img", "-p x --width 16 --height 16", "component folder '" + (dir_ / "no-vae") + "/vae' is missing",
               dir_ / "no-vae");
  EXPECT_FALSE(fs::exists(dir_ / "out"));  // nothing written on an error
}

}  // namespace
}  // namespace glint::test
