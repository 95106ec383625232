// trainers/datasets: every file format (and globs), every Dataset operation, the platform-independent shuffle and
// split orders (checked against permutations computed by an independent Python transcription of the algorithm),
// bad rows in both modes, the tokenised-dataset cache's hits and misses, and streaming with tiny read chunks.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "models/tokenizers/tokenizer.h"
#include "tests/harness.h"
#include "trainers/datasets/fingerprint.h"
#include "trainers/datasets/load.h"
#include "trainers/datasets/random.h"
#include "trainers/datasets/streaming.h"
#include "trainers/datasets/tokenized.h"

namespace glint::datasets {
namespace {

namespace fs = std::filesystem;

std::string data(const std::string& name) {
  return (fs::path(__FILE__).parent_path() / "../data/datasets" / name).lexically_normal().string();
}

// A fresh folder under the system temp dir, removed at the end of the test.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() / ("glint_datasets_" + std::to_string(getpid()) + "_" + name)) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name, const std::string& text) const {
    std::ofstream((path / name).string(), std::ios::binary) << text;
    return (path / name).string();
  }
};

std::vector<int64_t> ints(const Dataset& d, const std::string& column) {
  std::vector<int64_t> v;
  for (const auto& c : d.column(column)) v.push_back(c.get<int64_t>());
  return v;
}

// A dataset with column "id" = 0..n-1 and "text" = "row <id>".
Dataset numbered(size_t n) {
  std::vector<Value> rows;
  for (size_t i = 0; i < n; ++i) rows.push_back({{"id", i}, {"text", "row " + std::to_string(i)}});
  return Dataset::from_rows(rows);
}

std::vector<int64_t> stream_ids(const IterableDataset& d, uint64_t epoch = 0) {
  std::vector<int64_t> ids;
  RowStream s = d.stream(epoch);
  while (auto row = s.next()) ids.push_back((*row)["id"].get<int64_t>());
  return ids;
}

TEST(DatasetsFormats, JsonLinesGlobConcatenatesFilesInSortedOrder) {
  EXPECT_EQ(resolve_data_files({data("shards/part-*.jsonl")}),
            (std::vector<std::string>{data("shards/part-000.jsonl"), data("shards/part-001.jsonl")}));
  LoadStats stats;
  Dataset d = load_dataset("auto", {data("shards/part-*.jsonl")}, {}, &stats);
  EXPECT_EQ(d.num_rows(), 4u);  // the blank line of part-001 is no row
  EXPECT_EQ(stats.rows, 4u);
  EXPECT_EQ(d.column_names(), (std::vector<std::string>{"id", "text", "extra"}));
  EXPECT_EQ(ints(d, "id"), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(d.row(1)["text"], "God created");
  EXPECT_TRUE(d.column("extra")[0].is_null());
  EXPECT_EQ(d.column("extra")[3], true);
  // A path and a pattern that names it again: listed once.
  EXPECT_EQ(resolve_data_files({data("shards/part-001.jsonl"), data("shards/*.jsonl")}).size(), 2u);
  EXPECT_GLINT_ERROR(load_dataset("auto", {data("shards/*.parquet")}), "no files match");
  EXPECT_GLINT_ERROR(load_dataset("auto", {data("missing.jsonl")}), "missing.jsonl: no such file");
}

TEST(DatasetsFormats, JsonDocumentsOfEveryShape) {
  Dataset array = load_dataset("auto", {data("array.json")});
  EXPECT_EQ(array.column_names(), (std::vector<std::string>{"prompt", "completion"}));
  EXPECT_EQ(array.num_rows(), 3u);
  EXPECT_EQ(array.row(2)["completion"], "Blue");

  Dataset columns = load_dataset("json", {data("columns.json")});
  EXPECT_EQ(columns.num_rows(), 3u);
  EXPECT_EQ(ints(columns, "a"), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(columns.row(1)["b"], "y");

  Dataset field = load_dataset("json", {data("field.json")}, {.json_field = "rows"});
  EXPECT_EQ(field.column_names(), (std::vector<std::string>{"q"}));
  EXPECT_EQ(field.row(1)["q"], "two");
  EXPECT_GLINT_ERROR(load_dataset("json", {data("field.json")}, {.json_field = "nope"}), "no field 'nope'");

  // {"data": [...]}: the rows, with nested messages kept in their key order.
  Dataset chat = load_dataset("json", {data("data_key.json")});
  EXPECT_EQ(chat.num_rows(), 2u);
  EXPECT_EQ(chat.row(0)["messages"].dump(),
            R"([{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}])");

  // A .json file that holds JSON lines, and a .json file read with an explicit format.
  EXPECT_EQ(ints(load_dataset("auto", {data("lines.json")}), "n"), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(ints(load_dataset("jsonl", {data("shards/other.json")}), "id"), (std::vector<int64_t>{4}));

  TempDir tmp("json_docs");
  EXPECT_GLINT_ERROR(load_dataset("json", {tmp.file("bad.json", "[\n  {\"a\": 1},\n  {\"a\": }\n]")}),
                     "bad.json:3: invalid JSON");
  EXPECT_GLINT_ERROR(load_dataset("json", {tmp.file("ragged.json", R"({"a": [1, 2], "b": [1]})")}),
                     "column 'b' has 1 rows, column 'a' has 2");
}

TEST(DatasetsFormats, CsvQuotingLineBreaksAndTypes) {
  Dataset d = load_dataset("auto", {data("table.csv")});
  ASSERT_EQ(d.column_names(), (std::vector<std::string>{"name", "score", "ratio", "ok", "note"}));
  ASSERT_EQ(d.num_rows(), 4u);  // the blank line is skipped, as pandas does
  EXPECT_EQ(d.column("name")[1], "bob, jr.");
  EXPECT_EQ(d.column("note")[1], "says \"hi\"");
  EXPECT_EQ(d.column("note")[2], "two\r\nlines");  // a quoted line break is data, kept as written
  EXPECT_TRUE(d.column("note")[3].is_null());      // empty cells are null (pandas NaN)
  EXPECT_TRUE(d.column("score")[2].is_null());
  EXPECT_TRUE(d.column("score")[0].is_number_integer());
  EXPECT_EQ(d.column("score")[0], 10);
  EXPECT_TRUE(d.column("ratio")[1].is_number_float());  // "1" in a column of decimals is 1.0
  EXPECT_EQ(d.column("ratio")[2], 2.25);
  EXPECT_EQ(d.column("ok")[1], false);
  EXPECT_EQ(d.column("ok")[2], true);
  EXPECT_EQ(d.column("name")[0], "alice");

  Dataset raw = load_dataset("csv", {data("table.csv")}, {.infer_csv_types = false});
  EXPECT_EQ(raw.column("score")[0], "10");

  Dataset tsv = load_dataset("auto", {data("table.tsv")});
  EXPECT_EQ(ints(tsv, "a"), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(tsv.column("b")[0], "x y");
  EXPECT_EQ(tsv.column("b")[1], "q\tr");

  TempDir tmp("csv");
  Dataset header_only = load_dataset("csv", {tmp.file("h.csv", "x,y\n")});
  EXPECT_EQ(header_only.num_rows(), 0u);
  EXPECT_EQ(header_only.column_names(), (std::vector<std::string>{"x", "y"}));
  Dataset semi = load_dataset("csv", {tmp.file("s.txt", "x;y\n1;2\n")}, {.csv_delimiter = ';'});
  EXPECT_EQ(semi.column("y")[0], 2);
  EXPECT_GLINT_ERROR(load_dataset("csv", {tmp.file("e.csv", "")}), "empty CSV file");
  EXPECT_GLINT_ERROR(load_dataset("csv", {tmp.file("d.csv", "a,a\n1,2\n")}), "d.csv:1: column 'a' twice");
}

TEST(DatasetsFormats, PlainTextOneRowPerLine) {
  Dataset d = load_dataset("auto", {data("lines.txt")});
  EXPECT_EQ(d.column_names(), (std::vector<std::string>{"text"}));
  ASSERT_EQ(d.num_rows(), 4u);
  EXPECT_EQ(d.column("text")[0], "first line");
  EXPECT_EQ(d.column("text")[1], "second line");
  EXPECT_EQ(d.column("text")[2], "");
  EXPECT_EQ(d.column("text")[3], "fourth line");
  Dataset kept = load_dataset("text", {data("lines.txt")}, {.keep_linebreaks = true});
  EXPECT_EQ(kept.column("text")[1], "second line\r\n");
  EXPECT_EQ(kept.column("text")[3], "fourth line");  // the last line had no line break
}

TEST(DatasetsFormats, FormatFromExtensionOrName) {
  EXPECT_EQ(format_for_path("a/b.JSONL"), Format::kJsonLines);
  EXPECT_EQ(format_for_path("b.json"), Format::kJson);
  EXPECT_EQ(format_for_path("b.tsv"), Format::kCsv);
  EXPECT_EQ(format_for_path("b.txt"), Format::kText);
  EXPECT_GLINT_ERROR(format_for_path("b.parquet"), "cannot tell the format from the extension '.parquet'");
  EXPECT_GLINT_ERROR(parse_format("arrow"), "unknown format 'arrow'");
  EXPECT_GLINT_ERROR(load_dataset("auto", {data("table.csv"), data("lines.txt")}), "data files of different formats");
  // .json and .jsonl mix: both are read by the json builder.
  EXPECT_EQ(load_dataset("auto", {data("lines.json"), data("shards/part-000.jsonl")}).num_rows(), 4u);
}

TEST(DatasetsBadRows, ErrorNamesFileAndLine) {
  EXPECT_GLINT_ERROR(load_dataset("auto", {data("bad.jsonl")}), "bad.jsonl:3: expected a JSON object: ");
  EXPECT_GLINT_ERROR(load_dataset("auto", {data("bad.csv")}), "bad.csv:3: expected 2 fields, got 1");
  TempDir tmp("bad_rows");
  EXPECT_GLINT_ERROR(load_dataset("csv", {tmp.file("q.csv", "a,b\n1,\"open\n2,3\n")}),
                     "q.csv:2: unterminated quoted field");
  EXPECT_GLINT_ERROR(load_dataset("json", {tmp.file("n.json", "[{\"a\": 1}, 7]")}),
                     "n.json: row 1 of the JSON array: expected a JSON object, got number");
}

TEST(DatasetsBadRows, SkippedAndCounted) {
  LoadStats stats;
  Dataset d = load_dataset("auto", {data("bad.jsonl")}, {.on_bad_row = OnBadRow::kSkip}, &stats);
  EXPECT_EQ(d.num_rows(), 3u);
  EXPECT_EQ(d.column("text")[2], "ok 5");
  EXPECT_EQ(stats.skipped, 2u);
  ASSERT_EQ(stats.messages.size(), 2u);
  EXPECT_NE(stats.messages[0].find("bad.jsonl:3: expected a JSON object: "), std::string::npos) << stats.messages[0];
  EXPECT_NE(stats.messages[1].find("bad.jsonl:4: expected a JSON object, got array"), std::string::npos);

  LoadStats csv_stats;
  Dataset csv = load_dataset("auto", {data("bad.csv")}, {.on_bad_row = OnBadRow::kSkip}, &csv_stats);
  EXPECT_EQ(ints(csv, "a"), (std::vector<int64_t>{1, 4, 8}));
  EXPECT_EQ(csv_stats.skipped, 2u);
  ASSERT_EQ(csv_stats.messages.size(), 2u);
  EXPECT_NE(csv_stats.messages[1].find("bad.csv:5: unexpected character after a closing quote"), std::string::npos);
}

TEST(DatasetsOps, ColumnsRowsAndBatches) {
  Dataset d = Dataset::from_columns({"a", "b"}, {{1, 2, 3}, {"x", "y", "z"}});
  EXPECT_EQ(d.num_rows(), 3u);
  EXPECT_EQ(d.num_columns(), 2u);
  EXPECT_TRUE(d.has_column("b"));
  EXPECT_EQ(d.row(2).dump(), R"({"a":3,"b":"z"})");
  EXPECT_EQ(d.batch(1, 3).dump(), R"({"a":[2,3],"b":["y","z"]})");
  EXPECT_GLINT_ERROR(d.column("c"), "no column 'c' (columns: a, b)");
  EXPECT_GLINT_ERROR(d.row(3), "row 3 out of range for 3 rows");
  EXPECT_GLINT_ERROR(Dataset::from_columns({"a", "b"}, {{1}, {1, 2}}), "column 'b' has 2 rows");
  // Rows with different keys: the union of columns, null where a row has none.
  Dataset u = Dataset::from_rows({Value{{"a", 1}}, Value{{"b", 2}, {"a", 3}}});
  EXPECT_EQ(u.column_names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(u.column("b")[0].is_null());
  EXPECT_EQ(concatenate_datasets({d, u}).num_rows(), 5u);
}

TEST(DatasetsOps, MapPerRowUpdatesAndAddsColumns) {
  Dataset d = numbered(4);
  Dataset m = d.map([](const Value& row) {
    return Value{{"text", row["text"].get<std::string>() + "!"}, {"double", row["id"].get<int>() * 2}};
  });
  EXPECT_EQ(m.column_names(), (std::vector<std::string>{"id", "text", "double"}));
  EXPECT_EQ(m.column("text")[3], "row 3!");
  EXPECT_EQ(ints(m, "double"), (std::vector<int64_t>{0, 2, 4, 6}));
  EXPECT_EQ(d.column("text")[3], "row 3");  // the input is unchanged

  Dataset r = d.map([](const Value& row) { return Value{{"len", row["text"].get<std::string>().size()}}; }, {"text"});
  EXPECT_EQ(r.column_names(), (std::vector<std::string>{"id", "len"}));
  EXPECT_GLINT_ERROR(d.map([](const Value&) { return Value(1); }), "returned a JSON number");
  EXPECT_GLINT_ERROR(d.map([](const Value& row) {
    return row["id"] == 2 ? Value{{"y", 1}} : Value{{"x", 1}};
  }),
                     "did not return column 'x'");
  EXPECT_GLINT_ERROR(d.map([](const Value& row) { return Value::object(); }, {"nope"}), "cannot remove column 'nope'");
}

TEST(DatasetsOps, MapBatchedMayChangeTheNumberOfRows) {
  Dataset d = numbered(5);
  std::vector<size_t> sizes;
  Dataset m = d.map_batched(
      [&](const Value& batch) {
        sizes.push_back(batch["id"].size());
        Value sq = Value::array();
        for (const auto& id : batch["id"]) sq.push_back(id.get<int>() * id.get<int>());
        return Value{{"sq", sq}};
      },
      2);
  EXPECT_EQ(sizes, (std::vector<size_t>{2, 2, 1}));
  EXPECT_EQ(ints(m, "sq"), (std::vector<int64_t>{0, 1, 4, 9, 16}));
  EXPECT_EQ(m.column_names(), (std::vector<std::string>{"id", "text", "sq"}));

  // One row per word: more rows out than in, allowed once the input columns are removed.
  auto words = [](const Value& batch) {
    Value out = Value::array();
    for (const auto& t : batch["text"]) {
      std::string s = t.get<std::string>();
      out.push_back(s.substr(0, s.find(' ')));
      out.push_back(s.substr(s.find(' ') + 1));
    }
    return Value{{"word", out}};
  };
  Dataset w = d.map_batched(words, 3, {"id", "text"});
  EXPECT_EQ(w.num_rows(), 10u);
  EXPECT_EQ(w.column("word")[3], "1");
  EXPECT_GLINT_ERROR(d.map_batched(words, 3), "changed the number of rows, so input column 'id' cannot be kept");
  EXPECT_GLINT_ERROR(d.map_batched([](const Value&) {
    return Value{{"a", Value::array({1})}, {"b", Value::array()}};
  }),
                     "columns of different lengths");
  EXPECT_GLINT_ERROR(d.map_batched([](const Value&) { return Value{{"a", 1}}; }), "not a list");
}

TEST(DatasetsOps, FilterSelectRenameRemove) {
  Dataset d = numbered(6);
  EXPECT_EQ(ints(d.filter([](const Value& r) { return r["id"].get<int>() % 2 == 1; }), "id"),
            (std::vector<int64_t>{1, 3, 5}));
  EXPECT_EQ(ints(d.select({5, 0, 5}), "id"), (std::vector<int64_t>{5, 0, 5}));
  EXPECT_GLINT_ERROR(d.select({6}), "select: index 6 out of range for 6 rows");

  Dataset r = d.rename_column("text", "content");
  EXPECT_EQ(r.column_names(), (std::vector<std::string>{"id", "content"}));
  Dataset swapped = d.rename_columns({{"id", "text"}, {"text", "id"}});  // at once, as HF's mapping
  EXPECT_EQ(swapped.column_names(), (std::vector<std::string>{"text", "id"}));
  EXPECT_EQ(swapped.column("id")[0], "row 0");
  EXPECT_GLINT_ERROR(d.rename_columns({{"id", "x"}, {"text", "x"}}), "column 'x' twice");
  EXPECT_GLINT_ERROR(d.rename_column("id", "text"), "column 'text' exists already");
  EXPECT_GLINT_ERROR(d.rename_column("nope", "x"), "no column 'nope'");

  Dataset removed = d.remove_columns({"text"});
  EXPECT_EQ(removed.column_names(), (std::vector<std::string>{"id"}));
  EXPECT_EQ(removed.num_rows(), 6u);
  EXPECT_GLINT_ERROR(d.remove_columns({"x"}), "cannot remove column 'x'");
}

// The references below come from a Python transcription of random.h (SplitMix64, rejection sampling,
// Fisher–Yates from the last index down), not from this code.
TEST(DatasetsOps, ShuffleIsTheSameEverywhere) {
  EXPECT_EQ(SplitMix64(0).next(), 0xe220a8397b1dcdafull);  // the published SplitMix64 reference output
  EXPECT_EQ(permutation(10, 42), (std::vector<size_t>{0, 9, 5, 8, 6, 4, 7, 2, 1, 3}));
  EXPECT_EQ(permutation(7, 0), (std::vector<size_t>{6, 3, 1, 5, 4, 0, 2}));
  Dataset d = numbered(10);
  EXPECT_EQ(ints(d.shuffle(42), "id"), (std::vector<int64_t>{0, 9, 5, 8, 6, 4, 7, 2, 1, 3}));
  EXPECT_EQ(ints(d.shuffle(43), "id"), (std::vector<int64_t>{4, 2, 5, 6, 1, 3, 9, 8, 7, 0}));
  EXPECT_EQ(d.shuffle(42).column("text"), d.shuffle(42).column("text"));
  EXPECT_EQ(d.shuffle(42).fingerprint(), d.shuffle(42).fingerprint());
  EXPECT_NE(d.shuffle(42).fingerprint(), d.fingerprint());
}

TEST(DatasetsOps, TrainTestSplitLikeHf) {
  Dataset d = numbered(10);
  // test = the first ceil(0.25 * 10) = 3 of permutation(10, 42), train = the rest in that order.
  DatasetSplit s = d.train_test_split(SplitSize::fraction(0.25), 42);
  EXPECT_EQ(ints(s.test, "id"), (std::vector<int64_t>{0, 9, 5}));
  EXPECT_EQ(ints(s.train, "id"), (std::vector<int64_t>{8, 6, 4, 7, 2, 1, 3}));
  DatasetSplit again = d.train_test_split(SplitSize::fraction(0.25), 42);
  EXPECT_EQ(again.test.fingerprint(), s.test.fingerprint());

  DatasetSplit counted = d.train_test_split(SplitSize::count(4), 42);
  EXPECT_EQ(ints(counted.test, "id"), (std::vector<int64_t>{0, 9, 5, 8}));
  EXPECT_EQ(counted.train.num_rows(), 6u);

  DatasetSplit ordered = d.train_test_split(SplitSize::count(2), 0, /*shuffle=*/false);
  EXPECT_EQ(ints(ordered.train, "id"), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(ints(ordered.test, "id"), (std::vector<int64_t>{8, 9}));

  EXPECT_GLINT_ERROR(d.train_test_split(SplitSize::fraction(1.0)), "must be between 0 and 1");
  EXPECT_GLINT_ERROR(d.train_test_split(SplitSize::count(10)), "leaves the train or the test split empty");
  EXPECT_GLINT_ERROR(d.train_test_split(SplitSize::count(0)), "leaves the train or the test split empty");
}

TEST(DatasetsCache, Sha256MatchesTheStandardVectors) {
  auto hex = [](std::string_view s) {
    Sha256 h;
    h.update(s);
    return h.hex_digest();
  };
  EXPECT_EQ(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  Sha256 pieces;  // the same message fed in uneven pieces
  pieces.update("abcdbcdecdefdefgefghfghighij");
  pieces.update("hijkijkljklmklmnlmnomnopnopq");
  EXPECT_EQ(pieces.hex_digest(), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

// A tokenise function that maps each character of "text" to its byte value and counts its calls; labels mask the
// first token.
struct CountingTokenizer {
  int calls = 0;
  TokenizeFn fn() {
    return [this](const std::vector<Value>& rows) {
      ++calls;
      std::vector<TokenizedRow> out;
      for (const auto& r : rows) {
        TokenizedRow t;
        for (unsigned char c : r["text"].get<std::string>()) t.ids.push_back(c);
        t.labels = t.ids;
        if (!t.labels.empty()) t.labels[0] = -100;
        out.push_back(std::move(t));
      }
      return out;
    };
  }
};

TEST(DatasetsCache, SecondBuildIsAHitAndAnyChangeIsAMiss) {
  TempDir tmp("cache");
  Dataset d = numbered(5);
  CountingTokenizer counter;
  TokenizeSpec spec{.tokenizer_id = "chars",
                    .function = "chars@1",
                    .options = {{"max_length", 8}},
                    .batch_size = 2,
                    .cache_dir = tmp.path.string()};
  TokenizedDataset first = TokenizedDataset::build(d, counter.fn(), spec);
  EXPECT_EQ(counter.calls, 3);  // batches of 2, 2 and 1
  EXPECT_FALSE(first.from_cache());
  ASSERT_EQ(first.num_rows(), 5u);
  EXPECT_EQ(first.num_tokens(), 25u);  // "row 0" .. "row 4"
  EXPECT_TRUE(first.has_labels());
  std::vector<int32_t> row3(first.ids(3).begin(), first.ids(3).end());
  EXPECT_EQ(row3, (std::vector<int32_t>{'r', 'o', 'w', ' ', '3'}));
  EXPECT_EQ(first.labels(3)[0], -100);
  EXPECT_EQ(first.labels(3)[4], '3');
  EXPECT_EQ(first.offsets()[5], 25u);

  TokenizedDataset second = TokenizedDataset::build(d, counter.fn(), spec);
  EXPECT_EQ(counter.calls, 3);  // a hit: the function is not called again
  EXPECT_TRUE(second.from_cache());
  EXPECT_EQ(second.path(), first.path());
  EXPECT_TRUE(std::equal(first.all_ids().begin(), first.all_ids().end(), second.all_ids().begin()));

  std::vector<std::string> paths{first.path()};
  auto miss = [&](const Dataset& data, const TokenizeSpec& s) {
    const int before = counter.calls;
    TokenizedDataset t = TokenizedDataset::build(data, counter.fn(), s);
    EXPECT_GT(counter.calls, before);
    EXPECT_FALSE(t.from_cache());
    EXPECT_EQ(std::find(paths.begin(), paths.end(), t.path()), paths.end()) << "a new input reused " << t.path();
    paths.push_back(t.path());
  };
  TokenizeSpec other = spec;
  other.options["max_length"] = 9;
  miss(d, other);
  other = spec;
  other.function = "chars@2";
  miss(d, other);
  other = spec;
  other.tokenizer_id = "chars-v2";
  miss(d, other);
  miss(d.select({0, 1, 2, 4, 3}), spec);
  miss(d.map([](const Value& r) { return Value{{"text", r["id"] == 4 ? Value("row 4.") : r["text"]}}; }), spec);
  // A different batch size does not change the tokens, so it is no part of the key.
  TokenizeSpec batched = spec;
  batched.batch_size = 100;
  EXPECT_TRUE(TokenizedDataset::build(d, counter.fn(), batched).from_cache());
}

TEST(DatasetsCache, DamagedCacheIsRebuiltAndOpenRejectsIt) {
  TempDir tmp("cache_damaged");
  Dataset d = numbered(3);
  CountingTokenizer counter;
  TokenizeSpec spec{.tokenizer_id = "chars", .function = "chars@1", .cache_dir = tmp.path.string()};
  std::string path = TokenizedDataset::build(d, counter.fn(), spec).path();
  fs::resize_file(path, fs::file_size(path) - 4);
  EXPECT_GLINT_ERROR(TokenizedDataset::open(path), "(truncated?)");
  TokenizedDataset rebuilt = TokenizedDataset::build(d, counter.fn(), spec);
  EXPECT_EQ(counter.calls, 2);
  EXPECT_EQ(rebuilt.num_tokens(), 15u);
  EXPECT_GLINT_ERROR(TokenizedDataset::open(tmp.file("junk.bin", std::string(200, 'x'))), "bad magic");
  EXPECT_GLINT_ERROR(TokenizedDataset::build(d, counter.fn(), {.function = "f@1"}), "tokenizer_id is empty");
  auto wrong = [](const std::vector<Value>& rows) { return std::vector<TokenizedRow>(rows.size() + 1); };
  TokenizeSpec wrong_spec = spec;
  wrong_spec.function = "wrong@1";
  EXPECT_GLINT_ERROR(TokenizedDataset::build(d, wrong, wrong_spec), "returned 4 rows for 3");
  // Every row's tokens live in no file the test has not written: the temporary file is gone after commit.
  for (const auto& e : fs::directory_iterator(tmp.path))
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << e.path();
}

TEST(DatasetsCache, DefaultFolderAndRealTokenizer) {
  const char* old = std::getenv("GLINT_CACHE_DIR");
  const std::string saved = old ? old : "";
  setenv("GLINT_CACHE_DIR", "/some/cache", 1);
  EXPECT_EQ(default_cache_dir(), "/some/cache/datasets");
  if (old)
    setenv("GLINT_CACHE_DIR", saved.c_str(), 1);
  else
    unsetenv("GLINT_CACHE_DIR");

  const std::string tok_path =
      (fs::path(__FILE__).parent_path() / "../data/tokenizers/trained/bpe_bytelevel/tokenizer.json").string();
  Tokenizer tok = Tokenizer::from_file(tok_path);
  EXPECT_EQ(tokenizer_fingerprint(tok_path), sha256_file(tok_path));
  TempDir tmp("cache_tok");
  Dataset d = load_dataset("auto", {data("shards/part-*.jsonl")});
  TokenizedDataset t = TokenizedDataset::build(
      d, text_tokenize_fn(tok, "text"),
      {.tokenizer_id = tokenizer_fingerprint(tok_path), .function = "text@1", .cache_dir = tmp.path.string()});
  ASSERT_EQ(t.num_rows(), 4u);
  EXPECT_FALSE(t.has_labels());
  for (size_t i = 0; i < 4; ++i) {
    std::vector<uint32_t> want = tok.encode(d.column("text")[i].get<std::string>()).ids;
    std::vector<uint32_t> got(t.ids(i).begin(), t.ids(i).end());
    EXPECT_EQ(got, want) << "row " << i;
  }
}

TEST(DatasetsStreaming, SmallChunksGiveTheRowsOfTheWholeFile) {
  TempDir tmp("stream");
  std::string text;
  for (int i = 0; i < 50; ++i)
    text += R"({"id": )" + std::to_string(i) + R"(, "text": "line )" + std::to_string(i) + "\"}\n";
  std::string path = tmp.file("rows.jsonl", text);
  IterableDataset s = IterableDataset::from_files("auto", {path}, {.chunk_size = 7});
  std::vector<int64_t> ids = stream_ids(s);
  ASSERT_EQ(ids.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(ids[i], i);
  EXPECT_EQ(stream_ids(s.skip(45)), (std::vector<int64_t>{45, 46, 47, 48, 49}));
  EXPECT_EQ(stream_ids(s.skip(3).take(2)), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(stream_ids(s.take(100)).size(), 50u);
  EXPECT_EQ(stream_ids(s.filter([](const Value& r) { return r["id"].get<int>() % 10 == 0; })),
            (std::vector<int64_t>{0, 10, 20, 30, 40}));
  RowStream mapped = s.map([](const Value& r) { return Value{{"n", r["id"].get<int>() + 1}}; }, {"text"}).stream();
  EXPECT_EQ(mapped.next()->dump(), R"({"id":0,"n":1})");

  // CSV with a quoted line break that chunks of 5 bytes cut through, and text: the rows load_dataset gives.
  IterableDataset csv = IterableDataset::from_files("auto", {data("table.csv")}, {.chunk_size = 5});
  RowStream cs = csv.stream();
  std::vector<Value> csv_rows;
  while (auto r = cs.next()) csv_rows.push_back(*r);
  Dataset whole = load_dataset("auto", {data("table.csv")});
  ASSERT_EQ(csv_rows.size(), whole.num_rows());
  for (size_t i = 0; i < csv_rows.size(); ++i) EXPECT_EQ(csv_rows[i]["note"], whole.column("note")[i]) << i;
  EXPECT_EQ(csv_rows[0]["score"], 10);
  IterableDataset txt = IterableDataset::from_files("text", {data("lines.txt")}, {.chunk_size = 3});
  RowStream ts = txt.stream();
  const Dataset text_rows = load_dataset("text", {data("lines.txt")});
  for (const auto& want : text_rows.column("text")) {
    std::optional<Value> row = ts.next();
    ASSERT_TRUE(row.has_value());
    EXPECT_EQ((*row)["text"], want);
  }
  EXPECT_FALSE(ts.next().has_value());

  // Globs stream their files in sorted order.
  EXPECT_EQ(stream_ids(IterableDataset::from_files("auto", {data("shards/part-*.jsonl")}, {.chunk_size = 4})),
            (std::vector<int64_t>{0, 1, 2, 3}));
}

TEST(DatasetsStreaming, ShuffleBufferIsDeterministic) {
  TempDir tmp("stream_shuffle");
  std::string text;
  for (int i = 0; i < 10; ++i) text += "{\"id\": " + std::to_string(i) + "}\n";
  IterableDataset s = IterableDataset::from_files("jsonl", {tmp.file("ten.jsonl", text)}, {.chunk_size = 16});
  // References from a Python transcription of the buffer shuffle (seed + epoch drives it).
  EXPECT_EQ(stream_ids(s.shuffle(5, 4)), (std::vector<int64_t>{2, 0, 3, 1, 7, 5, 6, 4, 9, 8}));
  EXPECT_EQ(stream_ids(s.shuffle(5, 4), /*epoch=*/1), (std::vector<int64_t>{0, 1, 2, 4, 3, 7, 6, 5, 8, 9}));
  EXPECT_EQ(stream_ids(s.shuffle(5, 4)), stream_ids(s.shuffle(5, 4)));
  std::vector<int64_t> big = stream_ids(s.shuffle(9, 1000));
  std::sort(big.begin(), big.end());
  EXPECT_EQ(big, stream_ids(s));
  EXPECT_EQ(stream_ids(s.shuffle(5, 4).take(3)), (std::vector<int64_t>{2, 0, 3}));
}

TEST(DatasetsStreaming, BadRowsInBothModes) {
  IterableDataset strict = IterableDataset::from_files("auto", {data("bad.jsonl")}, {.chunk_size = 8});
  RowStream s = strict.stream();
  EXPECT_TRUE(s.next().has_value());
  EXPECT_TRUE(s.next().has_value());
  EXPECT_GLINT_ERROR(s.next(), "bad.jsonl:3: expected a JSON object: ");
  RowStream lenient =
      IterableDataset::from_files("auto", {data("bad.jsonl")}, {.on_bad_row = OnBadRow::kSkip, .chunk_size = 8})
          .stream();
  size_t n = 0;
  while (lenient.next()) ++n;
  EXPECT_EQ(n, 3u);
  EXPECT_EQ(lenient.stats().skipped, 2u);
  EXPECT_EQ(lenient.stats().rows, 3u);
}

}  // namespace
}  // namespace glint::datasets
