// Test entry point: runs the Vulkan path on whatever device the loader offers (lavapipe in CI) with the validation
// layer on when it is installed, and fails the run if the layer reported anything.
#include <gtest/gtest.h>

#include <cstdlib>

#include "runtime/vulkan/instance.h"

namespace {
class ValidationEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    EXPECT_EQ(glint::vk::Instance::validation_messages(), 0u) << "the Vulkan validation layer reported problems";
  }
};
}  // namespace

int main(int argc, char** argv) {
  setenv("GLINT_VALIDATION", "1", 0);
  setenv("LP_NUM_THREADS", "0", 0);  // lavapipe: single-threaded dispatch is ~100x cheaper for small test shapes
  // Tests name the devices they run on (test_devices()), and the tensors they make without naming one are CPU
  // references: on a machine whose default device is a GPU (a real one, not lavapipe) they must stay on the CPU.
  setenv("GLINT_DEVICE", "cpu", 0);
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new ValidationEnvironment);
  return RUN_ALL_TESTS();
}
