// Reading rows out of data files a chunk at a time: the line reader and the per-format row readers (JSON lines,
// CSV, plain text) shared by load_dataset (which collects every row) and streaming (which never holds a whole
// file). Bad rows raise "[datasets] <file>:<line>: ..." or are skipped and counted, as LoadOptions says.
#pragma once
#include <cstddef>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace glint::datasets {

// One cell or row. Ordered, so that columns and object keys keep the order of the file.
using Value = nlohmann::ordered_json;

// The file formats of HF's packaged builders.
enum class Format {
  kJsonLines,  // one JSON object per line (.jsonl)
  kJson,       // a JSON document (.json): [{...}, ...], {"col": [...], ...}, {"data": [...]}, or else JSON lines
  kCsv,        // RFC 4180 CSV with a header row (.csv; .tsv with a tab delimiter)
  kText,       // one row per line in the column "text" (.txt)
};

// What to do with a row that does not parse.
enum class OnBadRow { kError, kSkip };

// How files are read (HF load_dataset keyword arguments where they exist).
struct LoadOptions {
  OnBadRow on_bad_row = OnBadRow::kError;
  char csv_delimiter = 0;               // 0: ',' (or '\t' for .tsv files)
  bool infer_csv_types = true;          // CSV cells become integers, numbers or booleans when they all parse so
  std::string json_field;               // HF `field`: the key of a JSON document that holds the rows
  bool keep_linebreaks = false;         // text: keep the "\n" at the end of each row
  size_t chunk_size = size_t(1) << 20;  // bytes read from a file at a time
};

// What loading skipped.
struct LoadStats {
  size_t rows = 0;                    // rows read
  size_t skipped = 0;                 // bad rows skipped (OnBadRow::kSkip)
  std::vector<std::string> messages;  // the first few skipped rows' errors, "file:line: problem"
};

// The format of HF's builder for a file name's extension; throws for extensions it does not know.
Format format_for_path(const std::string& path);
// "json", "jsonl", "csv", "tsv", "text"/"txt" (as load_dataset's first argument); throws for others.
Format parse_format(const std::string& name);

// Lines of a file, read `chunk_size` bytes at a time; a UTF-8 byte-order mark at the start is dropped.
class LineReader {
 public:
  LineReader(std::string path, size_t chunk_size);
  // The next line without its "\n" (a "\r" before it is kept); false at the end of the file.
  bool next(std::string& line);
  // The 1-based number of the line next() returned last.
  size_t line_number() const { return line_; }
  // Whether that line ended with "\n" (the last line of a file may not).
  bool had_newline() const { return had_newline_; }
  const std::string& path() const { return path_; }

 private:
  bool refill();
  std::string path_;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file_;
  std::vector<char> chunk_;
  size_t pos_ = 0, len_ = 0, line_ = 0;
  bool first_ = true;
  bool had_newline_ = false;
};

// Rows of one JSON-lines, CSV or text file, in order. CSV cells are strings (null when empty); type inference is
// the caller's, because loading infers per column and streaming per cell.
class RowReader {
 public:
  RowReader(const std::string& path, Format format, const LoadOptions& options, LoadStats& stats);
  // The next row (a JSON object), or nullopt at the end of the file.
  std::optional<Value> next();
  // CSV: the header's column names.
  const std::vector<std::string>& csv_header() const { return header_; }

 private:
  std::optional<Value> next_json();
  std::optional<Value> next_csv();
  std::optional<Value> next_text();
  // Reads one CSV record (several lines when a quoted field holds line breaks); false at the end of the file.
  bool read_record(std::vector<std::optional<std::string>>& fields, std::string& error, size_t& start_line);
  // Throws or counts the bad row, as the options say.
  void bad_row(size_t line, const std::string& problem);

  LineReader lines_;
  Format format_;
  LoadOptions options_;
  LoadStats& stats_;
  char delimiter_ = ',';
  std::vector<std::string> header_;
};

// The type pandas (behind HF's CSV builder) gives CSV text, narrowest first.
enum class CsvKind { kInt, kFloat, kBool, kString };
// The narrowest kind that holds `s`.
CsvKind csv_kind(const std::string& s);
// The kind that holds both: int and float make float; any other mix makes string.
CsvKind widen(CsvKind a, CsvKind b);
// `s` as a cell of `kind` (which must hold it).
Value csv_cell(const std::string& s, CsvKind kind);

}  // namespace glint::datasets
