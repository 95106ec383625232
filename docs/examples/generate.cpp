// transformers' lower-level loop, in glint: AutoTokenizer and AutoModelForCausalLM from the same folder, hub id or
// .gguf file, then model.generate on the encoded prompt and decode of the new tokens.
//   generate MODEL [PROMPT]
// (built with the project as `example_generate`, so this file always compiles against the current API)
#include <cstdio>
#include <glint.h>
#include <models/auto.h>
#include <models/generation/generate.h>
#include <models/tokenizers/auto_tokenizer.h>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL [PROMPT]\n", argv[0]);
    return 2;
  }
  try {
    const glint::Tokenizer tokenizer = glint::AutoTokenizer::from_pretrained(argv[1]);
    const auto model = glint::AutoModelForCausalLM::from_pretrained(argv[1], {.device = glint::Device::cpu()});

    glint::GenerationOptions options;  // greedy
    options.max_new_tokens = 20;
    const glint::Encoding inputs = tokenizer.encode(argc > 2 ? argv[2] : "The capital of France is");
    const std::vector<uint32_t> new_tokens = model->generate(inputs.ids, options);
    std::printf("%s\n", tokenizer.decode(new_tokens, /*skip_special_tokens=*/true).c_str());
  } catch (const glint::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
