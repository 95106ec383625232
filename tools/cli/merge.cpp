// `glint merge BASE ADAPTER OUT`: folds a peft LoRA adapter into its base model (peft's merge_and_unload) and writes
// a plain model folder: config.json, model.safetensors with the merged weights in the base's dtype, and the base's
// generation and tokenizer files, so OUT loads anywhere BASE did, without peft.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "models/auto.h"
#include "models/peft/lora.h"
#include "runtime/core/error.h"
#include "runtime/io/hub.h"
#include "runtime/io/safetensors.h"
#include "tools/cli/commands.h"

namespace glint::cli {
namespace {

namespace fs = std::filesystem;

// The files of a model folder besides its weights that a merged model keeps.
constexpr const char* kCopiedFiles[] = {"config.json",
                                        "generation_config.json",
                                        "tokenizer.json",
                                        "tokenizer_config.json",
                                        "special_tokens_map.json",
                                        "tokenizer.model",
                                        "vocab.json",
                                        "merges.txt",
                                        "vocab.txt",
                                        "added_tokens.json",
                                        "chat_template.jinja",
                                        "chat_template.json"};

struct MergeArgs {
  std::string base, adapter, out;
};

void run(const MergeArgs& a) {
  const fs::path base = io::resolve_model(a.base);
  GLINT_CHECK(fs::is_directory(base), "merge", a.base, ": expected a model folder (safetensors + config.json)");
  const fs::path out(a.out);
  GLINT_CHECK(!fs::exists(out / "model.safetensors"), "merge", out.string(),
              ": already holds model.safetensors; not overwriting");
  ModelLoadOptions opts;
  opts.device = Device::cpu();
  auto model = AutoModelForCausalLM::from_pretrained(base.string(), opts);
  peft::LoraModel lora(*model);
  lora.load_adapter(a.adapter);
  lora.merge_and_unload();

  fs::create_directories(out);
  io::save_safetensors((out / "model.safetensors").string(), model->parameters().entries(), {{"format", "pt"}});
  int copied = 0;
  for (const char* name : kCopiedFiles) {
    if (!fs::exists(base / name)) continue;
    fs::copy_file(base / name, out / name, fs::copy_options::overwrite_existing);
    ++copied;
  }
  std::fprintf(stderr, "merged %s into %s: %zu tensors, %d config/tokenizer files -> %s\n", a.adapter.c_str(),
               a.base.c_str(), model->parameters().entries().size(), copied, out.string().c_str());
}

void add_merge_command(CLI::App& app) {
  auto a = std::make_shared<MergeArgs>();
  auto* cmd = app.add_subcommand("merge", "Merge a LoRA adapter (peft format) into its base model");
  cmd->add_option("base", a->base, "The base model folder or a model id in the Hugging Face cache")->required();
  cmd->add_option("adapter", a->adapter, "The adapter folder (adapter_config.json + adapter_model.safetensors)")
      ->required();
  cmd->add_option("out", a->out, "The folder to write the merged model to")->required();
  cmd->callback([a] { run(*a); });
}

const CommandRegistration reg(add_merge_command);

}  // namespace
}  // namespace glint::cli
