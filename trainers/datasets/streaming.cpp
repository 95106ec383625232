#include "trainers/datasets/streaming.h"

#include <algorithm>

#include "runtime/core/error.h"
#include "trainers/datasets/load.h"
#include "trainers/datasets/random.h"

namespace glint::datasets {
namespace detail {

struct StreamStep {
  enum Kind { kMap, kFilter, kShuffle, kTake, kSkip } kind;
  Dataset::RowFn fn;
  Dataset::Predicate pred;
  std::vector<std::string> remove_columns;
  uint64_t seed = 0;
  size_t n = 0;  // buffer size, take or skip count
};

// A pull-based pipeline: each stage asks the one before it for rows.
class Stage {
 public:
  virtual ~Stage() = default;
  virtual std::optional<Value> next() = 0;
};

}  // namespace detail

namespace {

using detail::Stage;
using detail::StreamStep;

class FileStage : public Stage {
 public:
  FileStage(std::vector<std::string> files, Format format, LoadOptions options, LoadStats& stats)
      : files_(std::move(files)), format_(format), options_(std::move(options)), stats_(stats) {}
  std::optional<Value> next() override {
    for (;;) {
      if (!reader_) {
        if (index_ == files_.size()) return std::nullopt;
        reader_ = std::make_unique<RowReader>(files_[index_++], format_, options_, stats_);
      }
      std::optional<Value> row = reader_->next();
      if (!row) {
        reader_.reset();
        continue;
      }
      if (format_ == Format::kCsv && options_.infer_csv_types)
        for (auto& [key, cell] : row->items())
          if (cell.is_string())
            cell = csv_cell(cell.get_ref<const std::string&>(), csv_kind(cell.get_ref<const std::string&>()));
      return row;
    }
  }

 private:
  std::vector<std::string> files_;
  Format format_;
  LoadOptions options_;
  LoadStats& stats_;
  size_t index_ = 0;
  std::unique_ptr<RowReader> reader_;
};

class StepStage : public Stage {
 public:
  StepStage(std::unique_ptr<Stage> up, std::shared_ptr<const StreamStep> step, uint64_t epoch)
      : up_(std::move(up)), step_(*step), keep_(std::move(step)), rng_(step_.seed + epoch) {}
  std::optional<Value> next() override {
    switch (step_.kind) {
      case StreamStep::kMap:
        return map();
      case StreamStep::kFilter:
        while (auto row = up_->next())
          if (step_.pred(*row)) return row;
        return std::nullopt;
      case StreamStep::kShuffle:
        return shuffled();
      case StreamStep::kTake:
        if (count_ == step_.n) return std::nullopt;
        ++count_;
        return up_->next();
      case StreamStep::kSkip:
        for (; count_ < step_.n; ++count_)
          if (!up_->next()) return std::nullopt;
        return up_->next();
    }
    return std::nullopt;
  }

 private:
  std::optional<Value> map() {
    std::optional<Value> row = up_->next();
    if (!row) return row;
    Value out = step_.fn(*row);
    GLINT_CHECK(out.is_object(), "datasets", "map: the function returned a JSON ", out.type_name(),
                ", not an object of columns");
    for (const auto& name : step_.remove_columns) row->erase(name);
    for (auto& [key, value] : out.items()) (*row)[key] = std::move(value);
    return row;
  }

  std::optional<Value> shuffled() {
    while (!drained_) {
      std::optional<Value> row = up_->next();
      if (!row) {
        drained_ = true;
        shuffle_in_place(buffer_, rng_);
        break;
      }
      if (buffer_.size() < step_.n) {
        buffer_.push_back(std::move(*row));
        continue;
      }
      std::swap(buffer_[rng_.below(buffer_.size())], *row);
      return row;
    }
    if (emitted_ == buffer_.size()) return std::nullopt;
    return std::move(buffer_[emitted_++]);
  }

  std::unique_ptr<Stage> up_;
  const StreamStep& step_;
  std::shared_ptr<const StreamStep> keep_;  // the stream may outlive the IterableDataset it came from
  SplitMix64 rng_;
  size_t count_ = 0;
  std::vector<Value> buffer_;
  bool drained_ = false;
  size_t emitted_ = 0;  // buffered rows given out after the upstream ended
};

}  // namespace

RowStream::RowStream(std::unique_ptr<detail::Stage> last, std::shared_ptr<LoadStats> stats)
    : last_(std::move(last)), stats_(std::move(stats)) {}
RowStream::~RowStream() = default;
RowStream::RowStream(RowStream&&) noexcept = default;
RowStream& RowStream::operator=(RowStream&&) noexcept = default;

std::optional<Value> RowStream::next() { return last_->next(); }

IterableDataset IterableDataset::from_files(const std::string& format, const std::vector<std::string>& files,
                                            const LoadOptions& options) {
  IterableDataset d;
  d.files_ = resolve_data_files(files);
  d.format_ = resolve_format(format, d.files_);
  if (d.format_ == Format::kJson) d.format_ = Format::kJsonLines;
  d.options_ = options;
  return d;
}

IterableDataset IterableDataset::with(StreamStep step) const {
  IterableDataset d = *this;
  d.steps_.push_back(std::make_shared<const StreamStep>(std::move(step)));
  return d;
}

IterableDataset IterableDataset::map(const Dataset::RowFn& fn, const std::vector<std::string>& remove_columns) const {
  return with({.kind = StreamStep::kMap, .fn = fn, .remove_columns = remove_columns});
}

IterableDataset IterableDataset::filter(const Dataset::Predicate& pred) const {
  return with({.kind = StreamStep::kFilter, .pred = pred});
}

IterableDataset IterableDataset::shuffle(uint64_t seed, size_t buffer_size) const {
  GLINT_CHECK(buffer_size > 0, "datasets", "shuffle: buffer_size must be positive");
  return with({.kind = StreamStep::kShuffle, .seed = seed, .n = buffer_size});
}

IterableDataset IterableDataset::take(size_t n) const { return with({.kind = StreamStep::kTake, .n = n}); }

IterableDataset IterableDataset::skip(size_t n) const { return with({.kind = StreamStep::kSkip, .n = n}); }

RowStream IterableDataset::stream(uint64_t epoch) const {
  auto stats = std::make_shared<LoadStats>();
  std::vector<std::string> files = files_;
  auto first_shuffle =
      std::find_if(steps_.begin(), steps_.end(), [](const auto& s) { return s->kind == StreamStep::kShuffle; });
  if (first_shuffle != steps_.end()) {
    // The file order gets its own stream of the seed, so that it does not shift the buffer's draws.
    SplitMix64 rng(~((*first_shuffle)->seed + epoch));
    shuffle_in_place(files, rng);
  }
  std::unique_ptr<Stage> stage = std::make_unique<FileStage>(std::move(files), format_, options_, *stats);
  for (const auto& step : steps_) stage = std::make_unique<StepStage>(std::move(stage), step, epoch);
  return RowStream(std::move(stage), std::move(stats));
}

}  // namespace glint::datasets
