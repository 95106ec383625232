#include "trainers/datasets/dataset.h"

#include <algorithm>
#include <cmath>

#include "runtime/core/error.h"
#include "trainers/datasets/fingerprint.h"
#include "trainers/datasets/random.h"

namespace glint::datasets {
namespace {

std::string join(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// Hashes a cell by structure and raw bytes: dump() would throw on strings a map function filled with non-UTF-8.
void hash_value(Sha256& h, const Value& v) {
  switch (v.type()) {
    case Value::value_t::object:
      h.update_field("{");
      h.update_field(std::to_string(v.size()));
      for (const auto& [key, value] : v.items()) {
        h.update_field(key);
        hash_value(h, value);
      }
      return;
    case Value::value_t::array:
      h.update_field("[");
      h.update_field(std::to_string(v.size()));
      for (const auto& e : v) hash_value(h, e);
      return;
    case Value::value_t::string:
      h.update_field("s");
      h.update_field(v.get_ref<const std::string&>());
      return;
    default:
      h.update_field(v.dump());  // numbers, booleans, null: exact
  }
}

}  // namespace

Dataset Dataset::from_columns(std::vector<std::string> names, std::vector<std::vector<Value>> columns) {
  GLINT_CHECK(names.size() == columns.size(), "datasets", names.size(), " column names for ", columns.size(),
              " columns");
  Dataset d;
  d.rows_ = columns.empty() ? 0 : columns[0].size();
  for (size_t i = 0; i < names.size(); ++i) {
    GLINT_CHECK(columns[i].size() == d.rows_, "datasets", "column '", names[i], "' has ", columns[i].size(),
                " rows, column '", names[0], "' has ", d.rows_);
    GLINT_CHECK(!d.has_column(names[i]), "datasets", "column '", names[i], "' given twice");
    d.names_.push_back(std::move(names[i]));
    d.columns_.push_back(std::make_shared<const std::vector<Value>>(std::move(columns[i])));
  }
  return d;
}

Dataset Dataset::from_rows(const std::vector<Value>& rows) {
  std::vector<std::string> names;
  std::vector<std::vector<Value>> columns;
  for (size_t r = 0; r < rows.size(); ++r) {
    GLINT_CHECK(rows[r].is_object(), "datasets", "row ", r, " is a JSON ", rows[r].type_name(), ", not an object");
    for (const auto& [key, value] : rows[r].items()) {
      size_t c = size_t(std::find(names.begin(), names.end(), key) - names.begin());
      if (c == names.size()) {
        names.push_back(key);
        columns.emplace_back(rows.size());  // null until a row sets it
      }
      columns[c][r] = value;
    }
  }
  Dataset d = from_columns(std::move(names), std::move(columns));
  d.rows_ = rows.size();
  return d;
}

bool Dataset::has_column(const std::string& name) const {
  return std::find(names_.begin(), names_.end(), name) != names_.end();
}

size_t Dataset::index_of(const std::string& name) const {
  auto it = std::find(names_.begin(), names_.end(), name);
  if (it == names_.end()) fail("datasets", "no column '", name, "' (columns: ", join(names_), ")");
  return size_t(it - names_.begin());
}

const std::vector<Value>& Dataset::column(const std::string& name) const { return *columns_[index_of(name)]; }

Value Dataset::row(size_t i) const {
  GLINT_CHECK(i < rows_, "datasets", "row ", i, " out of range for ", rows_, " rows");
  Value r = Value::object();
  for (size_t c = 0; c < names_.size(); ++c) r[names_[c]] = (*columns_[c])[i];
  return r;
}

Value Dataset::batch(size_t begin, size_t end) const {
  GLINT_CHECK(begin <= end && end <= rows_, "datasets", "batch [", begin, ", ", end, ") out of range for ", rows_,
              " rows");
  Value b = Value::object();
  for (size_t c = 0; c < names_.size(); ++c) {
    Value cells = Value::array();
    for (size_t i = begin; i < end; ++i) cells.push_back((*columns_[c])[i]);
    b[names_[c]] = std::move(cells);
  }
  return b;
}

std::vector<size_t> Dataset::kept_columns(const std::vector<std::string>& remove_columns, const char* op) const {
  for (const auto& name : remove_columns)
    GLINT_CHECK(has_column(name), "datasets", op, ": cannot remove column '", name,
                "': no such column (columns: ", join(names_), ")");
  std::vector<size_t> kept;
  for (size_t c = 0; c < names_.size(); ++c)
    if (std::find(remove_columns.begin(), remove_columns.end(), names_[c]) == remove_columns.end()) kept.push_back(c);
  return kept;
}

Dataset Dataset::map(const RowFn& fn, const std::vector<std::string>& remove_columns) const {
  // A batch of one row: the output checks and column assembly are those of map_batched.
  return map_batched(
      [&](const Value& batch) {
        Value row = Value::object();
        for (const auto& [key, cells] : batch.items()) row[key] = cells[0];
        Value out = fn(row);
        GLINT_CHECK(out.is_object(), "datasets", "map: the function returned a JSON ", out.type_name(),
                    ", not an object of columns");
        Value as_batch = Value::object();
        for (auto& [key, value] : out.items()) as_batch[key] = Value::array({std::move(value)});
        return as_batch;
      },
      1, remove_columns);
}

Dataset Dataset::map_batched(const BatchFn& fn, size_t batch_size,
                             const std::vector<std::string>& remove_columns) const {
  GLINT_CHECK(batch_size > 0, "datasets", "map: batch_size must be positive");
  const std::vector<size_t> kept = kept_columns(remove_columns, "map");
  std::vector<std::string> out_names;
  std::vector<std::vector<Value>> out_cells;
  bool same_rows = true;  // every batch returned as many rows as it got: kept columns carry over unchanged
  size_t out_rows = 0;
  for (size_t begin = 0; begin < rows_; begin += batch_size) {
    const size_t end = std::min(rows_, begin + batch_size);
    Value out = fn(batch(begin, end));
    GLINT_CHECK(out.is_object(), "datasets", "map: the function returned a JSON ", out.type_name(), " for rows [",
                begin, ", ", end, "), not an object of columns");
    if (begin == 0) {
      for (const auto& [key, value] : out.items()) out_names.push_back(key);
      out_cells.resize(out_names.size());
    }
    GLINT_CHECK(out.size() == out_names.size(), "datasets", "map: rows [", begin, ", ", end, ") returned ", out.size(),
                " columns, the first rows returned ", out_names.size(), " (", join(out_names), ")");
    size_t n = 0;
    for (size_t k = 0; k < out_names.size(); ++k) {
      auto it = out.find(out_names[k]);
      GLINT_CHECK(it != out.end(), "datasets", "map: rows [", begin, ", ", end, ") did not return column '",
                  out_names[k], "'");
      GLINT_CHECK(it->is_array(), "datasets", "map: column '", out_names[k], "' of rows [", begin, ", ", end,
                  ") is a JSON ", it->type_name(), ", not a list (a batched function returns lists)");
      if (k == 0) n = it->size();
      GLINT_CHECK(it->size() == n, "datasets", "map: rows [", begin, ", ", end, ") returned columns of different ",
                  "lengths ('", out_names[0], "': ", n, ", '", out_names[k], "': ", it->size(), ")");
      for (auto& cell : *it) out_cells[k].push_back(std::move(cell));
    }
    if (!out_names.empty()) out_rows += n;
    same_rows = same_rows && (out_names.empty() || n == end - begin);
  }
  auto output_index = [&](const std::string& name) {
    return size_t(std::find(out_names.begin(), out_names.end(), name) - out_names.begin());
  };
  Dataset d;
  d.rows_ = out_names.empty() ? rows_ : out_rows;
  std::vector<bool> placed(out_names.size(), false);
  for (size_t c : kept) {
    d.names_.push_back(names_[c]);
    if (size_t k = output_index(names_[c]); k < out_names.size()) {
      d.columns_.push_back(std::make_shared<const std::vector<Value>>(std::move(out_cells[k])));
      placed[k] = true;
      continue;
    }
    GLINT_CHECK(same_rows, "datasets", "map: the function changed the number of rows, so input column '", names_[c],
                "' cannot be kept; remove it (remove_columns) or return it");
    d.columns_.push_back(columns_[c]);
  }
  for (size_t k = 0; k < out_names.size(); ++k) {
    if (placed[k]) continue;
    d.names_.push_back(out_names[k]);
    d.columns_.push_back(std::make_shared<const std::vector<Value>>(std::move(out_cells[k])));
  }
  return d;
}

Dataset Dataset::filter(const Predicate& pred) const {
  std::vector<size_t> keep;
  for (size_t i = 0; i < rows_; ++i)
    if (pred(row(i))) keep.push_back(i);
  return select(keep);
}

Dataset Dataset::shuffle(uint64_t seed) const { return select(permutation(rows_, seed)); }

Dataset Dataset::select(const std::vector<size_t>& indices) const {
  for (size_t i : indices)
    GLINT_CHECK(i < rows_, "datasets", "select: index ", i, " out of range for ", rows_, " rows");
  Dataset d;
  d.names_ = names_;
  d.rows_ = indices.size();
  for (const auto& col : columns_) {
    std::vector<Value> cells;
    cells.reserve(indices.size());
    for (size_t i : indices) cells.push_back((*col)[i]);
    d.columns_.push_back(std::make_shared<const std::vector<Value>>(std::move(cells)));
  }
  return d;
}

DatasetSplit Dataset::train_test_split(SplitSize test_size, uint64_t seed, bool shuffle) const {
  size_t n_test = 0;
  if (test_size.is_fraction) {
    GLINT_CHECK(test_size.fraction_value > 0 && test_size.fraction_value < 1, "datasets",
                "train_test_split: test_size ", test_size.fraction_value, " must be between 0 and 1");
    n_test = size_t(std::ceil(test_size.fraction_value * double(rows_)));
  } else {
    n_test = test_size.count_value;
  }
  GLINT_CHECK(n_test > 0 && n_test < rows_, "datasets", "train_test_split: with ", rows_, " rows a test split of ",
              n_test, " rows leaves the train or the test split empty");
  std::vector<size_t> order(rows_);
  if (shuffle) {
    order = permutation(rows_, seed);
    return {select({order.begin() + n_test, order.end()}), select({order.begin(), order.begin() + n_test})};
  }
  for (size_t i = 0; i < rows_; ++i) order[i] = i;
  const size_t n_train = rows_ - n_test;
  return {select({order.begin(), order.begin() + n_train}), select({order.begin() + n_train, order.end()})};
}

Dataset Dataset::rename_column(const std::string& from, const std::string& to) const {
  return rename_columns({{from, to}});
}

Dataset Dataset::rename_columns(const std::vector<std::pair<std::string, std::string>>& renames) const {
  // All at once, like HF's {old: new} mapping: {"a": "b", "b": "a"} swaps two names.
  Dataset d = *this;
  for (const auto& [from, to] : renames) {
    GLINT_CHECK(!to.empty(), "datasets", "rename_column: empty new name for '", from, "'");
    d.names_[index_of(from)] = to;
  }
  for (size_t c = 0; c < d.names_.size(); ++c) {
    const std::string& name = d.names_[c];
    const bool renamed = name != names_[c];
    for (size_t o = 0; o < c; ++o) {
      if (d.names_[o] != name) continue;
      const bool both_renamed = renamed && d.names_[o] != names_[o];
      fail("datasets", "rename_column: ",
           both_renamed ? "column '" + name + "' twice among the new names" : "column '" + name + "' exists already");
    }
  }
  return d;
}

Dataset Dataset::remove_columns(const std::vector<std::string>& names) const {
  Dataset d;
  d.rows_ = rows_;
  for (size_t c : kept_columns(names, "remove_columns")) {
    d.names_.push_back(names_[c]);
    d.columns_.push_back(columns_[c]);
  }
  return d;
}

std::string Dataset::fingerprint() const {
  Sha256 h;
  h.update_field("glint.datasets.Dataset/1");
  h.update_field(std::to_string(rows_));
  for (size_t c = 0; c < names_.size(); ++c) {
    h.update_field(names_[c]);
    for (const auto& cell : *columns_[c]) hash_value(h, cell);
  }
  return h.hex_digest();
}

Dataset concatenate_datasets(const std::vector<Dataset>& parts) {
  std::vector<std::string> names;
  size_t rows = 0;
  for (const auto& p : parts) {
    rows += p.num_rows();
    for (const auto& n : p.column_names())
      if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  }
  std::vector<std::vector<Value>> columns(names.size());
  for (size_t c = 0; c < names.size(); ++c) {
    columns[c].reserve(rows);
    for (const auto& p : parts) {
      if (p.has_column(names[c])) {
        const auto& cells = p.column(names[c]);
        columns[c].insert(columns[c].end(), cells.begin(), cells.end());
      } else {
        columns[c].resize(columns[c].size() + p.num_rows());
      }
    }
  }
  return Dataset::from_columns(std::move(names), std::move(columns));
}

}  // namespace glint::datasets
