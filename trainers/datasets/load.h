// load_dataset: JSON lines, JSON, CSV and plain-text files (paths or glob patterns) into one in-memory Dataset,
// the way HF's packaged builders ("json", "csv", "text") read them.
//
//   auto ds = glint::datasets::load_dataset("auto", {"data/*.jsonl"});   // format from the extension
//   auto csv = glint::datasets::load_dataset("csv", {"a.csv", "b.csv"}, {.on_bad_row = OnBadRow::kSkip});
#pragma once
#include <string>
#include <vector>

#include "trainers/datasets/dataset.h"
#include "trainers/datasets/readers.h"

namespace glint::datasets {

// The files that paths and glob patterns (*, ?, [...] as in the shell) name: each pattern's matches sorted by
// name, patterns in the order given, repeats dropped. A pattern that matches nothing or a missing path throws.
std::vector<std::string> resolve_data_files(const std::vector<std::string>& patterns);

// The format named by `format` ("json", "jsonl", "csv", "tsv", "text"), or for "auto" / "" the one of each
// file's extension (all files must agree).
Format resolve_format(const std::string& format, const std::vector<std::string>& files);

// Loads every file (after resolve_data_files) and concatenates them in order. Bad rows throw
// "[datasets] <file>:<line>: <problem>" or, with OnBadRow::kSkip, are skipped, counted in `stats` and logged.
Dataset load_dataset(const std::string& format, const std::vector<std::string>& files, const LoadOptions& options = {},
                     LoadStats* stats = nullptr);

}  // namespace glint::datasets
