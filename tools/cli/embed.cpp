// `glint embed MODEL --text "..." [--text ...]`: sentence embeddings of a sentence-transformers BERT model (e.g.
// all-MiniLM-L6-v2) as JSON {"model", "dim", "embeddings"}.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "models/bert/sentence_embedder.h"
#include "runtime/io/hub.h"
#include "tools/cli/commands.h"

namespace glint::cli {
namespace {

struct EmbedArgs {
  std::string model, device;
  std::vector<std::string> texts;
  size_t batch_size = 32;
};

void run(const EmbedArgs& a) {
  const Device device = a.device.empty() ? default_device() : Device::parse(a.device);
  auto embedder = SentenceEmbedder::from_pretrained(io::resolve_model(a.model), device);
  const Tensor e = embedder->embed(a.texts, a.batch_size);
  const auto values = e.to_f32();
  nlohmann::json rows = nlohmann::json::array();
  for (int64_t i = 0; i < e.dim(0); ++i)
    rows.push_back(std::vector<float>(values.begin() + i * e.dim(1), values.begin() + (i + 1) * e.dim(1)));
  const nlohmann::ordered_json out = {{"model", a.model}, {"embeddings", rows}, {"dim", embedder->dim()}};
  std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

void add_embed_command(CLI::App& app) {
  auto args = std::make_shared<EmbedArgs>();
  auto* cmd = app.add_subcommand("embed", "Print the sentence embeddings of texts as JSON");
  cmd->add_option("model", args->model,
                  "A sentence-transformers folder with a BERT model (modules.json, 1_Pooling/)"
#ifdef GLINT_HAVE_HUB
                  ", or a model id in the Hugging Face cache"
#endif
                  )
      ->required();
  cmd->add_option("--text", args->texts, "A text to embed (repeat for several)")->required();
  cmd->add_option("--device", args->device, "cpu, vulkan or vulkan:N (default: glint's default device)");
  cmd->add_option("--batch-size", args->batch_size, "Texts per forward pass")->check(CLI::PositiveNumber);
  cmd->callback([args] { run(*args); });
}

const CommandRegistration reg(add_embed_command);

}  // namespace
}  // namespace glint::cli
