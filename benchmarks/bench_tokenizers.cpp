// Encode throughput of glint's tokenizers (MB/s of UTF-8 input) for gpt2 and qwen3 on the KJV text and the mixed
// parity corpus: a loop of encode() on one thread, encode_batch on one thread and on all cores. The passes are
// checked to give identical ids first. With --hf FILE (the JSON of tools/bench_tokenizers_hf.py run just before, as
// benchmarks/tokenizers.sh does), each line also shows HF `tokenizers` and the ratio glint / HF.
//   bench_tokenizers [--tokenizers gpt2,qwen3] [--kjv PATH] [--corpus-repeat 8] [--repeat 3] [--hf hf.json]
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "benchmarks/bench_util.h"
#include "models/tokenizers/tokenizer.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kRoot = fs::path(__FILE__).parent_path().parent_path();

std::vector<std::string> read_texts(const fs::path& p) {
  std::ifstream in(p);
  if (!in) throw std::runtime_error("cannot open " + p.string());
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(json::parse(line)["text"].get<std::string>());
  return out;
}

template <class F>
double best_seconds(F fn, int repeat) {
  double best = 1e30;
  for (int r = 0; r < repeat; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(item);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string tokenizers = "gpt2,qwen3", hf_path;
  fs::path kjv = kRoot.parent_path() / "shared/data/corpora/kjv.jsonl";
  int corpus_repeat = 8, repeat = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--tokenizers")
      tokenizers = v;
    else if (a == "--kjv")
      kjv = v;
    else if (a == "--corpus-repeat")
      corpus_repeat = std::stoi(v);
    else if (a == "--repeat")
      repeat = std::stoi(v);
    else if (a == "--hf")
      hf_path = v;
  }
  std::map<std::string, double> hf;  // "tokenizer/text/mode/threads" -> MB/s
  if (!hf_path.empty()) {
    std::ifstream in(hf_path);
    json j = json::parse(in);
    for (const json& r : j["results"])
      hf[r["tokenizer"].get<std::string>() + "/" + r["text"].get<std::string>() + "/" + r["mode"].get<std::string>() +
         "/" + std::to_string(r["threads"].get<int>())] = r["mb_per_s"];
  }
  std::map<std::string, std::vector<std::string>> texts{{"kjv", read_texts(kjv)}};
  std::vector<std::string> corpus = read_texts(kRoot / "tests/data/tokenizers/corpus.jsonl");
  for (int r = 0; r < corpus_repeat; ++r) texts["corpus"].insert(texts["corpus"].end(), corpus.begin(), corpus.end());
  int all = omp_get_max_threads();
  std::printf("%s\n", glint::bench::machine_line().c_str());
  std::printf("%-6s %-7s %-13s %7s %10s %10s %8s\n", "tok", "text", "mode", "threads", "glint MB/s", "HF MB/s",
              "ratio");
  json results = json::array();
  for (const std::string& name : split(tokenizers)) {
    glint::Tokenizer tok = glint::Tokenizer::from_pretrained((kRoot / "tests/data/tokenizers" / name).string());
    for (const auto& [text_name, lines] : texts) {
      size_t bytes = 0;
      for (const std::string& s : lines) bytes += s.size();
      glint::EncodeOptions o;
      o.add_special_tokens = false;
      // Validation: the three ways of encoding give the same ids.
      omp_set_num_threads(all);
      std::vector<glint::Encoding> batch = tok.encode_batch(lines, o);
      for (size_t i = 0; i < lines.size(); i += 97)
        if (tok.encode(lines[i], false).ids != batch[i].ids) {
          std::fprintf(stderr, "%s: encode and encode_batch differ on line %zu\n", name.c_str(), i);
          return 1;
        }
      struct Run {
        const char* mode;
        int threads;
      };
      for (Run run : {Run{"encode", 1}, Run{"encode_batch", 1}, Run{"encode_batch", all}}) {
        omp_set_num_threads(run.threads);
        size_t tokens = 0;
        double s = best_seconds(
            [&] {
              tokens = 0;
              if (std::string(run.mode) == "encode") {
                for (const std::string& line : lines) tokens += tok.encode(line, false).size();
              } else {
                for (const glint::Encoding& e : tok.encode_batch(lines, o)) tokens += e.size();
              }
            },
            repeat);
        double mbs = bytes / s / 1e6;
        std::string key = name + "/" + text_name + "/" + run.mode + "/" + std::to_string(run.threads);
        auto it = hf.find(key);
        std::printf("%-6s %-7s %-13s %7d %10.2f", name.c_str(), text_name.c_str(), run.mode, run.threads, mbs);
        if (it != hf.end())
          std::printf(" %10.2f %7.2fx\n", it->second, mbs / it->second);
        else
          std::printf(" %10s %8s\n", "-", "-");
        results.push_back({{"tokenizer", name},
                           {"text", text_name},
                           {"mode", run.mode},
                           {"threads", run.threads},
                           {"bytes", bytes},
                           {"tokens", tokens},
                           {"seconds", s},
                           {"mb_per_s", mbs}});
      }
    }
  }
  return 0;
}
