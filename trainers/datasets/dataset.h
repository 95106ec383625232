// An in-memory dataset like HF `datasets.Dataset`: named columns of JSON cells, with map (per row or batched),
// filter, shuffle, select, train_test_split and column renaming/removal. Every operation returns a new Dataset
// and leaves its input unchanged.
//
// Why columnar, with JSON cells: training code reads one or two columns at a time (tokenising "text", rendering
// "messages"), batched map works on dicts of columns as in HF, and rename/remove/column access are O(1) when each
// column is a shared, immutable vector — datasets derived from one another share the columns they did not touch.
// Cells are JSON values because the data is JSON-shaped (nested "messages" lists, nulls, mixed numbers), like HF's
// Arrow types but without a schema to declare. A row is assembled on demand as a JSON object.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "trainers/datasets/readers.h"

namespace glint::datasets {

class Dataset;

// The size of the test split: a fraction of the rows (rounded up, as HF) or a number of rows.
struct SplitSize {
  static SplitSize fraction(double f) { return {f, 0, true}; }
  static SplitSize count(size_t n) { return {0, n, false}; }
  double fraction_value;
  size_t count_value;
  bool is_fraction;
};

// What train_test_split returns (HF's DatasetDict with "train" and "test").
struct DatasetSplit;

class Dataset {
 public:
  // A row (per-row map/filter) or a batch {"column": [cells...]} (batched map) in, an object of columns out.
  using RowFn = std::function<Value(const Value& row)>;
  using BatchFn = std::function<Value(const Value& batch)>;
  using Predicate = std::function<bool(const Value& row)>;

  Dataset() = default;
  // From columns of equal length, in this order.
  static Dataset from_columns(std::vector<std::string> names, std::vector<std::vector<Value>> columns);
  // From JSON objects: columns in the order they are first seen, cells a row lacks are null.
  static Dataset from_rows(const std::vector<Value>& rows);

  size_t num_rows() const { return rows_; }
  size_t num_columns() const { return names_.size(); }
  const std::vector<std::string>& column_names() const { return names_; }
  bool has_column(const std::string& name) const;
  // The cells of one column; throws "[datasets] no column 'x' (columns: ...)".
  const std::vector<Value>& column(const std::string& name) const;
  // Row i as a JSON object with the columns in order.
  Value row(size_t i) const;
  // Rows [begin, end) as {"column": [cells...]}.
  Value batch(size_t begin, size_t end) const;

  // fn(row) returns an object whose keys replace or add columns (HF map). `remove_columns` are dropped from the
  // input first. Every row must return the same keys.
  Dataset map(const RowFn& fn, const std::vector<std::string>& remove_columns = {}) const;
  // fn(batch of up to batch_size rows) returns an object of equal-length lists. A batch may return more or fewer
  // rows than it got only when no input column is kept (all removed or replaced), as in HF.
  Dataset map_batched(const BatchFn& fn, size_t batch_size = 1000,
                      const std::vector<std::string>& remove_columns = {}) const;
  // The rows for which pred(row) is true, in order.
  Dataset filter(const Predicate& pred) const;
  // The rows in the order of permutation(num_rows(), seed) (random.h): the same on every platform.
  Dataset shuffle(uint64_t seed) const;
  // The rows at `indices`, in that order (repeats allowed); throws for an index past the end.
  Dataset select(const std::vector<size_t>& indices) const;
  // HF train_test_split: with shuffle, test = the first n_test of the seed's permutation and train the rest;
  // without, train = the first rows and test the last.
  DatasetSplit train_test_split(SplitSize test_size, uint64_t seed = 0, bool shuffle = true) const;
  Dataset rename_column(const std::string& from, const std::string& to) const;
  Dataset rename_columns(const std::vector<std::pair<std::string, std::string>>& renames) const;
  Dataset remove_columns(const std::vector<std::string>& names) const;

  // SHA-256 of the column names and every cell: equal datasets, equal fingerprints.
  std::string fingerprint() const;

 private:
  using Column = std::shared_ptr<const std::vector<Value>>;
  size_t index_of(const std::string& name) const;
  // The columns kept by map after `remove_columns`, checked to exist.
  std::vector<size_t> kept_columns(const std::vector<std::string>& remove_columns, const char* op) const;

  std::vector<std::string> names_;
  std::vector<Column> columns_;
  size_t rows_ = 0;
};

struct DatasetSplit {
  Dataset train, test;
};

// The rows of every dataset one after the other; columns are the union in first-seen order, missing cells null.
Dataset concatenate_datasets(const std::vector<Dataset>& parts);

}  // namespace glint::datasets
