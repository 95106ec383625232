// Uses the installed headers and library: a tensor round trip on the default device.
#include <glint.h>

#include <cstdio>

int main() {
  glint::Tensor t = glint::full({2, 3}, 1.5);
  std::vector<float> v = t.to(glint::DType::f16).to_f32();
  std::printf("consumer: %s sum %.1f\n", t.str().c_str(), v[0] * 6);
  return v[5] == 1.5f ? 0 : 1;
}
