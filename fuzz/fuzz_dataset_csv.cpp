// Fuzzes the CSV reader of trainers/datasets: any bytes must load (bad rows skipped or a glint::Error raised),
// never crash or hang, and streaming the file in tiny chunks must give the rows load_dataset gives (untyped, since
// loading types whole columns and streaming single cells).
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

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/glint_fuzz_dataset_" + std::to_string(getpid()) + ".csv";
  if (std::FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(data, 1, size, f);
    std::fclose(f);
  } else {
    return 0;
  }
  try {
    load_dataset("csv", {path});
  } catch (const Error&) {
  }
  try {
    const LoadOptions raw{.on_bad_row = OnBadRow::kSkip, .infer_csv_types = false, .chunk_size = 2};
    Dataset d = load_dataset("csv", {path}, raw);
    RowStream s = IterableDataset::from_files("csv", {path}, raw).stream();
    size_t n = 0;
    while (auto row = s.next()) {
      if (n >= d.num_rows() || *row != d.row(n)) std::abort();  // streaming and loading disagree
      ++n;
    }
    if (n != d.num_rows()) std::abort();
    load_dataset("text", {path}, {.on_bad_row = OnBadRow::kSkip});
  } catch (const Error&) {
  }
  std::remove(path.c_str());
  return 0;
}
