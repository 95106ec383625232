// `glint merge BASE ADAPTER OUT`: folds a peft LoRA adapter into its base model (peft's merge_and_unload) and writes
// a plain model folder: config.json, model.safetensors with the merged weights in the base's dtype, and the base's
// generation and tokenizer files, so OUT loads anywhere BASE did, without peft.
//
// An adapter trained on a 4-bit base (QLoRA: `train sft --load-in-4bit`, or a bnb-4bit BASE) learnt its update
// against the dequantised weights, so that is what it is merged into, as peft does: `--load-in-4bit` quantises a
// dense BASE the way training did, a bnb-4bit BASE is 4-bit already; the 4-bit Linear layers are dequantised to
// `--dtype` (default: the compute dtype, f32) and OUT is an ordinary dense model without quantization_config.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "models/auto.h"
#include "models/peft/lora.h"
#include "runtime/core/error.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/bnb_4bit.h"
#include "runtime/io/config.h"
#include "runtime/io/hub.h"
#include "runtime/io/safetensors.h"
#include "tools/cli/commands.h"
#include "tools/cli/model_files.h"

namespace glint::cli {
namespace {

namespace fs = std::filesystem;

struct MergeArgs {
  std::string base, adapter, out, dtype, quant_type = "nf4";
  bool load_in_4bit = false, double_quant = false;
  int64_t blocksize = 64;
};

void run(const MergeArgs& a) {
  const fs::path base = io::resolve_model(a.base);
  GLINT_CHECK(fs::is_directory(base), "merge", a.base, ": expected a model folder (safetensors + config.json)");
  const fs::path out(a.out);
  GLINT_CHECK(!fs::exists(out / "model.safetensors"), "merge", out.string(),
              ": already holds model.safetensors; not overwriting");
  ModelLoadOptions opts;
  opts.device = Device::cpu();
  opts.load_in_4bit = a.load_in_4bit;
  opts.quant4 = {parse_quant4(a.quant_type), a.blocksize, a.double_quant};
  if (!a.dtype.empty()) opts.dtype = parse_dtype(a.dtype);
  auto model = AutoModelForCausalLM::from_pretrained(base.string(), opts);

  // The store is the loader's, which no longer lists 4-bit weights; the dequantised ones go into a copy of it
  // (sharing the model's Linear states), which is what is written.
  nn::ParameterStore store = model->parameters();
  std::vector<std::string> four_bit;
  for (const auto& [module, state] : store.linears())
    if (state->quantized) four_bit.push_back(module);
  const DType dtype = model->config().dtype;
  nn::dequantize_linears(store, dtype);
  for (const auto& [module, state] : store.linears())
    if (std::find(four_bit.begin(), four_bit.end(), module) != four_bit.end())
      store.add(module + ".weight", state->weight);

  peft::LoraModel lora(*model);
  lora.load_adapter(a.adapter);
  lora.merge_and_unload();

  fs::create_directories(out);
  io::save_safetensors((out / "model.safetensors").string(), store.entries(), {{"format", "pt"}});
  nlohmann::json config = io::load_json((base / "config.json").string()).json;
  if (!four_bit.empty()) {  // now a dense model of `dtype`
    config.erase("quantization_config");
    config["torch_dtype"] = io::torch_dtype_name(dtype);
  }
  io::write_file_atomically((out / "config.json").string(), config.dump(2) + "\n", "merge");
  const int copied = 1 + copy_companion_files(base, out);
  const std::string dequantised = four_bit.empty()
                                      ? std::string()
                                      : " (" + std::to_string(four_bit.size()) + " 4-bit layers dequantised to " +
                                            std::string(dtype_name(dtype)) + ")";
  std::fprintf(stderr, "merged %s into %s%s: %zu tensors, %d config/tokenizer files -> %s\n", a.adapter.c_str(),
               a.base.c_str(), dequantised.c_str(), store.entries().size(), copied, out.string().c_str());
}

void add_merge_command(CLI::App& app) {
  auto a = std::make_shared<MergeArgs>();
  auto* cmd = app.add_subcommand("merge", "Merge a LoRA adapter (peft format) into its base model");
  cmd->add_option("base", a->base, "The base model folder or a model id in the Hugging Face cache")->required();
  cmd->add_option("adapter", a->adapter, "The adapter folder (adapter_config.json + adapter_model.safetensors)")
      ->required();
  cmd->add_option("out", a->out, "The folder to write the merged model to")->required();
  cmd->add_flag("--load-in-4bit", a->load_in_4bit,
                "The adapter was trained on the 4-bit base (QLoRA): quantise BASE as training did and merge into its "
                "dequantised weights");
  cmd->add_option("--quant-type", a->quant_type, "With --load-in-4bit: nf4 (default) or fp4");
  cmd->add_flag("--double-quant", a->double_quant, "With --load-in-4bit: double quantisation, as in training");
  cmd->add_option("--blocksize", a->blocksize, "With --load-in-4bit: elements per absmax block (64)");
  cmd->add_option("--dtype", a->dtype,
                  "The merged weights' dtype (f32, bf16, f16); default the base's, f32 for a "
                  "4-bit base");
  cmd->callback([a] { run(*a); });
}

const CommandRegistration reg(add_merge_command);

}  // namespace
}  // namespace glint::cli
