// Streaming datasets, like HF `IterableDataset`: rows are read from the files a chunk at a time as they are
// consumed, so files larger than memory can be trained on. map, filter, shuffle (with a buffer), take and skip
// are lazy steps applied in the order they were added, each time the rows are streamed.
//
//   auto rows = IterableDataset::from_files("auto", {"big/*.jsonl"}).shuffle(42, 10000).take(1000);
//   auto s = rows.stream();
//   while (auto row = s.next()) use(*row);
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "trainers/datasets/dataset.h"
#include "trainers/datasets/readers.h"

namespace glint::datasets {

namespace detail {
struct StreamStep;
class Stage;
}  // namespace detail

// One pass over an IterableDataset's rows.
class RowStream {
 public:
  explicit RowStream(std::unique_ptr<detail::Stage> last, std::shared_ptr<LoadStats> stats);
  ~RowStream();
  RowStream(RowStream&&) noexcept;
  RowStream& operator=(RowStream&&) noexcept;
  // The next row, or nullopt when the stream is done.
  std::optional<Value> next();
  // Rows read and bad rows skipped so far.
  const LoadStats& stats() const { return *stats_; }

 private:
  std::unique_ptr<detail::Stage> last_;
  std::shared_ptr<LoadStats> stats_;
};

class IterableDataset {
 public:
  // Rows of JSON-lines, CSV or text files (paths or glob patterns; format as load_dataset's). A .json file is
  // streamed as JSON lines: a JSON document must be loaded whole with load_dataset. CSV cells are typed one by
  // one (load_dataset types whole columns).
  static IterableDataset from_files(const std::string& format, const std::vector<std::string>& files,
                                    const LoadOptions& options = {});

  // Each row updated with the object fn returns, after dropping `remove_columns` (HF IterableDataset.map).
  IterableDataset map(const Dataset::RowFn& fn, const std::vector<std::string>& remove_columns = {}) const;
  IterableDataset filter(const Dataset::Predicate& pred) const;
  // HF's buffer shuffle: the first buffer_size rows fill a buffer; each later row replaces a random buffered row,
  // which is emitted; the rest come out shuffled at the end. The files' order is shuffled too (HF shuffles
  // shards). The seed of a stream is seed + epoch, as HF's set_epoch.
  IterableDataset shuffle(uint64_t seed, size_t buffer_size = 1000) const;
  // The first n rows.
  IterableDataset take(size_t n) const;
  // All but the first n rows.
  IterableDataset skip(size_t n) const;

  // A new pass from the start of the first file.
  RowStream stream(uint64_t epoch = 0) const;
  // The files streamed, in their unshuffled order.
  const std::vector<std::string>& files() const { return files_; }

 private:
  IterableDataset with(detail::StreamStep step) const;
  std::vector<std::string> files_;
  Format format_ = Format::kJsonLines;
  LoadOptions options_;
  std::vector<std::shared_ptr<const detail::StreamStep>> steps_;
};

}  // namespace glint::datasets
