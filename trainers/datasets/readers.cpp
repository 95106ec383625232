#include "trainers/datasets/readers.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include "models/tokenizers/unicode.h"
#include "runtime/core/error.h"

namespace glint::datasets {
namespace {

constexpr size_t kMaxMessages = 10;

std::string lower_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; the file and line say more here.
std::string json_problem(const nlohmann::json::exception& e) {
  std::string m = e.what();
  if (size_t p = m.find("] "); m.starts_with("[json.exception") && p != std::string::npos) m = m.substr(p + 2);
  return m;
}

bool blank(const std::string& s) { return s.find_first_not_of(" \t\r") == std::string::npos; }

}  // namespace

Format format_for_path(const std::string& path) {
  const std::string ext = lower_extension(path);
  if (ext == ".jsonl") return Format::kJsonLines;
  if (ext == ".json") return Format::kJson;
  if (ext == ".csv" || ext == ".tsv") return Format::kCsv;
  if (ext == ".txt") return Format::kText;
  fail("datasets", path, ": cannot tell the format from the extension '", ext,
       "' (known: .jsonl .json .csv .tsv .txt); name the format");
}

Format parse_format(const std::string& name) {
  if (name == "jsonl") return Format::kJsonLines;
  if (name == "json") return Format::kJson;
  if (name == "csv" || name == "tsv") return Format::kCsv;
  if (name == "text" || name == "txt") return Format::kText;
  fail("datasets", "unknown format '", name, "' (known: json, jsonl, csv, tsv, text)");
}

LineReader::LineReader(std::string path, size_t chunk_size)
    : path_(std::move(path)),
      file_(std::fopen(path_.c_str(), "rb"), std::fclose),
      chunk_(std::max<size_t>(chunk_size, 1)) {
  if (!file_) fail("datasets", path_, ": cannot open: ", std::strerror(errno));
}

bool LineReader::refill() {
  len_ = std::fread(chunk_.data(), 1, chunk_.size(), file_.get());
  pos_ = 0;
  if (len_ == 0 && std::ferror(file_.get())) fail("datasets", path_, ": read failed: ", std::strerror(errno));
  return len_ > 0;
}

bool LineReader::next(std::string& line) {
  line.clear();
  bool any = false;
  for (;;) {
    if (pos_ == len_ && !refill()) {
      if (any) ++line_;
      had_newline_ = false;
      return any;
    }
    any = true;
    const char* begin = chunk_.data() + pos_;
    const char* nl = static_cast<const char*>(std::memchr(begin, '\n', len_ - pos_));
    const char* end = nl ? nl : chunk_.data() + len_;
    line.append(begin, end);
    pos_ = size_t(end - chunk_.data()) + (nl ? 1 : 0);
    if (first_ && line.size() >= 3) {
      if (line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);
      first_ = false;
    }
    if (nl) {
      first_ = false;
      had_newline_ = true;
      ++line_;
      return true;
    }
  }
}

RowReader::RowReader(const std::string& path, Format format, const LoadOptions& options, LoadStats& stats)
    : lines_(path, options.chunk_size), format_(format), options_(options), stats_(stats) {
  GLINT_CHECK(format != Format::kJson, "datasets", path, ": a JSON document is read whole, not row by row");
  if (format != Format::kCsv) return;
  delimiter_ = options.csv_delimiter ? options.csv_delimiter : lower_extension(path) == ".tsv" ? '\t' : ',';
  std::vector<std::optional<std::string>> fields;
  std::string error;
  size_t line = 0;
  if (!read_record(fields, error, line)) fail("datasets", path, ": empty CSV file (a header row is needed)");
  if (!error.empty()) fail("datasets", path, ":", line, ": bad header: ", error);
  for (auto& f : fields) {
    std::string name = f.value_or("");
    GLINT_CHECK(tok::is_valid_utf8(name), "datasets", path, ":", line, ": invalid UTF-8 in the header");
    GLINT_CHECK(!name.empty(), "datasets", path, ":", line, ": empty column name in the header");
    for (auto& h : header_)
      GLINT_CHECK(h != name, "datasets", path, ":", line, ": column '", name, "' twice in the header");
    header_.push_back(std::move(name));
  }
}

void RowReader::bad_row(size_t line, const std::string& problem) {
  std::string where = lines_.path() + ":" + std::to_string(line) + ": " + problem;
  if (options_.on_bad_row == OnBadRow::kError) fail("datasets", where);
  ++stats_.skipped;
  if (stats_.messages.size() < kMaxMessages) stats_.messages.push_back(std::move(where));
}

std::optional<Value> RowReader::next() {
  std::optional<Value> row;
  switch (format_) {
    case Format::kJsonLines:
      row = next_json();
      break;
    case Format::kCsv:
      row = next_csv();
      break;
    case Format::kText:
      row = next_text();
      break;
    case Format::kJson:
      break;
  }
  if (row) ++stats_.rows;
  return row;
}

std::optional<Value> RowReader::next_json() {
  std::string line;
  while (lines_.next(line)) {
    if (blank(line)) continue;
    try {
      Value v = Value::parse(line);
      if (v.is_object()) return v;
      bad_row(lines_.line_number(), std::string("expected a JSON object, got ") + v.type_name());
    } catch (const nlohmann::json::exception& e) {
      bad_row(lines_.line_number(), "expected a JSON object: " + json_problem(e));
    }
  }
  return std::nullopt;
}

std::optional<Value> RowReader::next_text() {
  std::string line;
  for (;;) {
    if (!lines_.next(line)) return std::nullopt;
    // Cells are JSON strings, which must be UTF-8 (HF decodes text files strictly too).
    if (tok::is_valid_utf8(line)) break;
    bad_row(lines_.line_number(), "invalid UTF-8");
  }
  if (options_.keep_linebreaks) {
    if (lines_.had_newline()) line += '\n';
  } else if (!line.empty() && line.back() == '\r') {
    line.pop_back();
  }
  Value row = Value::object();
  row["text"] = std::move(line);
  return row;
}

std::optional<Value> RowReader::next_csv() {
  std::vector<std::optional<std::string>> fields;
  std::string error;
  size_t line = 0;
  while (read_record(fields, error, line)) {
    if (!error.empty()) {
      bad_row(line, error);
      continue;
    }
    if (!std::all_of(fields.begin(), fields.end(), [](const auto& f) { return !f || tok::is_valid_utf8(*f); })) {
      bad_row(line, "invalid UTF-8");
      continue;
    }
    if (fields.size() != header_.size()) {
      bad_row(line, "expected " + std::to_string(header_.size()) + " fields, got " + std::to_string(fields.size()));
      continue;
    }
    Value row = Value::object();
    for (size_t i = 0; i < fields.size(); ++i) row[header_[i]] = fields[i] ? Value(*fields[i]) : Value(nullptr);
    return row;
  }
  return std::nullopt;
}

// RFC 4180: fields split by the delimiter; a field starting with '"' runs to the next lone '"' (a doubled '""' is
// one quote) and may hold delimiters and line breaks (kept as they are in the file, CRLF included). Blank lines are
// skipped, as pandas does. Empty fields are null (pandas NaN).
bool RowReader::read_record(std::vector<std::optional<std::string>>& fields, std::string& error, size_t& start_line) {
  fields.clear();
  error.clear();
  std::string line;
  do {
    if (!lines_.next(line)) return false;
  } while (line.empty() || line == "\r");
  start_line = lines_.line_number();
  size_t i = 0;
  for (;;) {
    std::string field;
    bool quoted = false;
    if (i < line.size() && line[i] == '"') {
      quoted = true;
      ++i;
      for (;;) {
        if (i == line.size()) {
          // The quoted field holds a line break: it goes on on the next line.
          std::string more;
          if (!lines_.next(more)) {
            error = "unterminated quoted field";
            return true;
          }
          field += '\n';
          line = std::move(more);
          i = 0;
          continue;
        }
        if (line[i] != '"') {
          field += line[i++];
        } else if (i + 1 < line.size() && line[i + 1] == '"') {
          field += '"';
          i += 2;
        } else {
          ++i;
          break;
        }
      }
      if (i + 1 == line.size() && line[i] == '\r') line.pop_back();  // CRLF ends the record
      if (i < line.size() && line[i] != delimiter_) {
        error = "unexpected character after a closing quote";
        return true;
      }
    } else {
      size_t end = line.find(delimiter_, i);
      if (end == std::string::npos) end = line.size();
      field.assign(line, i, end - i);
      if (end == line.size() && !field.empty() && field.back() == '\r') field.pop_back();  // CRLF
      i = end;
    }
    fields.push_back(field.empty() && !quoted ? std::nullopt : std::optional<std::string>(std::move(field)));
    if (i >= line.size()) return true;
    ++i;  // the delimiter
    if (i == line.size()) {
      fields.push_back(std::nullopt);  // a trailing delimiter ends with an empty field
      return true;
    }
  }
}

CsvKind csv_kind(const std::string& s) {
  const char* b = s.data();
  const char* e = b + s.size();
  int64_t i = 0;
  if (auto [p, ec] = std::from_chars(b, e, i); ec == std::errc() && p == e && !s.empty()) return CsvKind::kInt;
  double d = 0;
  if (auto [p, ec] = std::from_chars(b, e, d); ec == std::errc() && p == e && !s.empty()) return CsvKind::kFloat;
  if (s == "True" || s == "False" || s == "true" || s == "false" || s == "TRUE" || s == "FALSE") return CsvKind::kBool;
  return CsvKind::kString;
}

CsvKind widen(CsvKind a, CsvKind b) {
  if (a == b) return a;
  auto numeric = [](CsvKind k) { return k == CsvKind::kInt || k == CsvKind::kFloat; };
  return numeric(a) && numeric(b) ? CsvKind::kFloat : CsvKind::kString;
}

Value csv_cell(const std::string& s, CsvKind kind) {
  switch (kind) {
    case CsvKind::kInt: {
      int64_t v = 0;
      std::from_chars(s.data(), s.data() + s.size(), v);
      return v;
    }
    case CsvKind::kFloat: {
      double v = 0;
      std::from_chars(s.data(), s.data() + s.size(), v);
      return v;
    }
    case CsvKind::kBool:
      return s[0] == 't' || s[0] == 'T';
    case CsvKind::kString:
      break;
  }
  return s;
}

}  // namespace glint::datasets
