// Fuzzes the JSON-lines and JSON readers of trainers/datasets: any bytes must load (bad rows skipped or a
// glint::Error raised), never crash or hang, and streaming the file in tiny chunks must give the rows that
// load_dataset gives (less the null cells of columns a row lacks).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "runtime/core/error.h"
#include "trainers/datasets/load.h"
#include "trainers/datasets/streaming.h"

using namespace glint;
using namespace glint::datasets;

namespace {

// A streamed row holds only its own keys; the loaded row has every column, null where the row had none.
bool same_row(const Value& streamed, const Value& loaded) {
  for (const auto& [key, value] : loaded.items()) {
    auto it = streamed.find(key);
    if (it == streamed.end() ? !value.is_null() : *it != value) return false;
  }
  for (const auto& [key, value] : streamed.items())
    if (!loaded.contains(key)) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The readers take files, as training does: one scratch file per process.
  static const std::string path = "/tmp/glint_fuzz_dataset_" + std::to_string(getpid()) + ".jsonl";
  if (std::FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(data, 1, size, f);
    std::fclose(f);
  } else {
    return 0;
  }
  try {
    load_dataset("json", {path});
  } catch (const Error&) {
  }
  try {
    LoadStats stats;
    Dataset d = load_dataset("jsonl", {path}, {.on_bad_row = OnBadRow::kSkip}, &stats);
    RowStream s =
        IterableDataset::from_files("jsonl", {path}, {.on_bad_row = OnBadRow::kSkip, .chunk_size = 3}).stream();
    size_t n = 0;
    while (auto row = s.next()) {
      if (n >= d.num_rows() || !same_row(*row, d.row(n))) std::abort();  // streaming and loading disagree
      ++n;
    }
    if (n != d.num_rows() || s.stats().skipped != stats.skipped) std::abort();
    d.shuffle(size).fingerprint();
  } catch (const Error&) {
  }
  std::remove(path.c_str());
  return 0;
}
