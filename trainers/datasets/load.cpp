#include "trainers/datasets/load.h"

#include <glob.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/core/error.h"

namespace glint::datasets {
namespace {

bool is_pattern(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

std::string read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("datasets", path, ": cannot open: ", std::strerror(errno));
  std::ostringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  if (text.starts_with("\xEF\xBB\xBF")) text.erase(0, 3);
  return text;
}

// The 1-based line of byte offset `byte` (nlohmann counts bytes read, so the offending byte is byte - 1).
size_t line_of(const std::string& text, size_t byte) {
  byte = std::min(byte ? byte - 1 : 0, text.size());
  return size_t(std::count(text.begin(), text.begin() + ptrdiff_t(byte), '\n')) + 1;
}

Dataset read_rows(const std::string& path, Format format, const LoadOptions& options, LoadStats& stats) {
  RowReader reader(path, format, options, stats);
  std::vector<Value> rows;
  while (auto r = reader.next()) rows.push_back(std::move(*r));
  // A CSV file with a header and no rows still has its columns.
  if (rows.empty() && format == Format::kCsv)
    return Dataset::from_columns(reader.csv_header(), std::vector<std::vector<Value>>(reader.csv_header().size()));
  return Dataset::from_rows(rows);
}

// A {"column": [cells...]} object as a dataset; throws when the lists differ in length.
Dataset from_column_dict(const std::string& path, Value doc) {
  std::vector<std::string> names;
  std::vector<std::vector<Value>> columns;
  for (auto& [key, cells] : doc.items()) {
    if (!columns.empty() && cells.size() != columns[0].size())
      fail("datasets", path, ": column '", key, "' has ", cells.size(), " rows, column '", names[0], "' has ",
           columns[0].size());
    names.push_back(key);
    columns.emplace_back(std::make_move_iterator(cells.begin()), std::make_move_iterator(cells.end()));
  }
  return Dataset::from_columns(std::move(names), std::move(columns));
}

Dataset from_row_array(const std::string& path, Value& rows, const LoadOptions& options, LoadStats& stats) {
  std::vector<Value> kept;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].is_object()) {
      kept.push_back(std::move(rows[i]));
      continue;
    }
    std::string where =
        path + ": row " + std::to_string(i) + " of the JSON array: expected a JSON object, got " + rows[i].type_name();
    if (options.on_bad_row == OnBadRow::kError) fail("datasets", where);
    ++stats.skipped;
    if (stats.messages.size() < 10) stats.messages.push_back(std::move(where));
  }
  stats.rows += kept.size();
  return Dataset::from_rows(kept);
}

// HF's json builder: an array of objects, an object holding them under `field` (or "data"), an object of
// equal-length columns — and anything else is read as JSON lines, since .json files often hold those.
Dataset read_json_document(const std::string& path, const LoadOptions& options, LoadStats& stats) {
  std::string text = read_whole(path);
  const size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string::npos) return {};
  Value doc;
  std::string problem;
  size_t line = 0;
  try {
    doc = Value::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    problem = e.what();
    line = line_of(text, e.byte);
  } catch (const nlohmann::json::exception& e) {  // a number out of range
    problem = e.what();
  }
  if (!problem.empty()) {
    if (text[start] != '[' && options.json_field.empty()) return read_rows(path, Format::kJsonLines, options, stats);
    if (size_t p = problem.find("] "); p != std::string::npos) problem = problem.substr(p + 2);
    if (line) fail("datasets", path, ":", line, ": invalid JSON: ", problem);
    fail("datasets", path, ": invalid JSON: ", problem);
  }
  if (!options.json_field.empty()) {
    GLINT_CHECK(doc.is_object() && doc.contains(options.json_field), "datasets", path, ": no field '",
                options.json_field, "' at the top level");
    doc = std::move(doc[options.json_field]);
    if (doc.is_array()) return from_row_array(path, doc, options, stats);
    GLINT_CHECK(doc.is_object(), "datasets", path, ": field '", options.json_field,
                "' is neither a list of rows nor an object of columns");
  }
  if (doc.is_array()) return from_row_array(path, doc, options, stats);
  if (!doc.is_object()) return read_rows(path, Format::kJsonLines, options, stats);  // reports "got <type>"
  if (doc.size() == 1 && doc.contains("data") && doc["data"].is_array() &&
      std::all_of(doc["data"].begin(), doc["data"].end(), [](const Value& v) { return v.is_object(); }))
    return from_row_array(path, doc["data"], options, stats);
  if (std::all_of(doc.begin(), doc.end(), [](const Value& v) { return v.is_array(); })) {
    Dataset d = from_column_dict(path, std::move(doc));
    stats.rows += d.num_rows();
    return d;
  }
  return read_rows(path, Format::kJsonLines, options, stats);
}

// Types each CSV column as pandas would: the narrowest kind that holds every non-null cell.
Dataset type_csv_columns(const Dataset& d) {
  std::vector<std::vector<Value>> columns;
  for (const auto& name : d.column_names()) {
    const auto& cells = d.column(name);
    std::optional<CsvKind> kind;
    for (const auto& c : cells)
      if (c.is_string())
        kind =
            kind ? widen(*kind, csv_kind(c.get_ref<const std::string&>())) : csv_kind(c.get_ref<const std::string&>());
    std::vector<Value> typed;
    typed.reserve(cells.size());
    for (const auto& c : cells) typed.push_back(c.is_string() ? csv_cell(c.get_ref<const std::string&>(), *kind) : c);
    columns.push_back(std::move(typed));
  }
  return Dataset::from_columns(d.column_names(), std::move(columns));
}

}  // namespace

std::vector<std::string> resolve_data_files(const std::vector<std::string>& patterns) {
  GLINT_CHECK(!patterns.empty(), "datasets", "no data files given");
  std::vector<std::string> files;
  auto add = [&](std::string f) {
    if (std::find(files.begin(), files.end(), f) == files.end()) files.push_back(std::move(f));
  };
  for (const auto& pattern : patterns) {
    if (!is_pattern(pattern)) {
      GLINT_CHECK(std::filesystem::is_regular_file(pattern), "datasets", pattern, ": no such file");
      add(pattern);
      continue;
    }
    glob_t g{};
    int rc = ::glob(pattern.c_str(), 0, nullptr, &g);
    std::vector<std::string> matches;
    for (size_t i = 0; rc == 0 && i < g.gl_pathc; ++i)
      if (std::filesystem::is_regular_file(g.gl_pathv[i])) matches.emplace_back(g.gl_pathv[i]);
    globfree(&g);
    GLINT_CHECK(!matches.empty(), "datasets", "no files match '", pattern, "'");
    std::sort(matches.begin(), matches.end());  // byte order, whatever the locale
    for (auto& m : matches) add(std::move(m));
  }
  return files;
}

Format resolve_format(const std::string& format, const std::vector<std::string>& files) {
  if (!format.empty() && format != "auto") return parse_format(format);
  GLINT_CHECK(!files.empty(), "datasets", "no data files given");
  const Format f = format_for_path(files[0]);
  for (const auto& p : files) {
    Format g = format_for_path(p);
    // .jsonl and .json files mix freely: HF reads both with its json builder.
    bool json = (f == Format::kJson || f == Format::kJsonLines) && (g == Format::kJson || g == Format::kJsonLines);
    GLINT_CHECK(g == f || json, "datasets", "data files of different formats: ", files[0], " and ", p);
  }
  return f;
}

Dataset load_dataset(const std::string& format, const std::vector<std::string>& files, const LoadOptions& options,
                     LoadStats* stats) {
  const std::vector<std::string> paths = resolve_data_files(files);
  const bool auto_format = format.empty() || format == "auto";
  const Format common = resolve_format(format, paths);
  LoadStats local;
  LoadStats& s = stats ? *stats : local;
  std::vector<Dataset> parts;
  for (const auto& path : paths) {
    const Format f = auto_format ? format_for_path(path) : common;
    parts.push_back(f == Format::kJson ? read_json_document(path, options, s) : read_rows(path, f, options, s));
  }
  Dataset d = parts.size() == 1 ? std::move(parts[0]) : concatenate_datasets(parts);
  if (common == Format::kCsv && options.infer_csv_types) d = type_csv_columns(d);
  if (s.skipped)
    spdlog::warn("[datasets] skipped {} bad row{} of {} (first: {})", s.skipped, s.skipped == 1 ? "" : "s",
                 paths.size() == 1 ? paths[0] : std::to_string(paths.size()) + " files", s.messages[0]);
  return d;
}

}  // namespace glint::datasets
