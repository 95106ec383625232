// The transformers quick-start, in glint: load a model folder or hub id, then complete a prompt and chat.
//   text_generation MODEL [PROMPT]
// (built with the project as `example_text_generation`, so this file always compiles against the current API)
#include <cstdio>
#include <glint.h>
#include <models/pipeline.h>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL [PROMPT]\n", argv[0]);
    return 2;
  }
  try {
    glint::TextGenerationPipeline pipe = glint::pipeline("text-generation", argv[1]);

    glint::GenerationOptions options = pipe.defaults();  // generation_config.json's settings
    options.max_new_tokens = 40;
    options.on_text = [](int64_t, const std::string& piece) {  // stream as tokens arrive
      std::fputs(piece.c_str(), stdout);
      std::fflush(stdout);
    };
    pipe(argc > 2 ? argv[2] : "Once upon a time", options);
    std::printf("\n");

    if (!pipe.tokenizer().config().chat_template.empty()) {
      nlohmann::ordered_json messages = nlohmann::ordered_json::parse(R"([{"role": "user", "content": "Hello!"}])");
      std::printf("%s\n", pipe.chat(messages).c_str());
    }
  } catch (const glint::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
