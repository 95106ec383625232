// The SVG curves of a run (trainers/loss_curve.h): the points drawn for a series, its trailing-mean smoothing, the
// legend, and reading metrics.jsonl back.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/harness.h"
#include "trainers/loss_curve.h"

namespace glint::test {
namespace {
namespace fs = std::filesystem;

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(LossCurve, DrawsSeriesSmoothedAndNamesOnlyThoseWithPoints) {
  const fs::path out = fs::temp_directory_path() / "glint-loss-curve-test.svg";
  std::vector<nlohmann::json> history;
  for (int step = 1; step <= 4; ++step) history.push_back({{"step", step}, {"reward", step % 2 == 0 ? 1.0 : 0.0}});
  history.push_back({{"note", "a record without a step is skipped"}, {"reward", 5.0}});
  train::write_curves_svg(out.string(), history, "t",
                          {{"reward", "raw", "#111111"}, {"reward", "mean", "#222222", false, 2},
                           {"kl", "kl", "#333333", true}});
  const std::string svg = read_text(out);
  // x = 60 + 560 * step / 4, y = 40 + 280 * (1 - value) on the range [0, 1] of the values drawn.
  EXPECT_NE(svg.find("points=\"200,320 340,40 480,320 620,40 \""), std::string::npos) << svg;
  EXPECT_NE(svg.find("points=\"200,320 340,180 480,180 620,180 \""), std::string::npos) << svg;
  EXPECT_NE(svg.find(">raw</tspan>"), std::string::npos);
  EXPECT_NE(svg.find(">mean</tspan>"), std::string::npos);
  EXPECT_EQ(svg.find(">kl</tspan>"), std::string::npos);  // no record has "kl"
  EXPECT_EQ(svg.find("<circle"), std::string::npos);
  fs::remove(out);
}

TEST(LossCurve, LossSvgDrawsEvalLossAsDots) {
  const fs::path out = fs::temp_directory_path() / "glint-loss-svg-test.svg";
  train::write_loss_svg(out.string(), {{{"step", 1}, {"loss", 2.0}}, {{"step", 2}, {"loss", 1.0}, {"eval_loss", 1.5}}},
                        "t");
  const std::string svg = read_text(out);
  EXPECT_NE(svg.find("points=\"340,40 620,320 \""), std::string::npos) << svg;
  EXPECT_NE(svg.find("<circle cx=\"620\" cy=\"180\""), std::string::npos) << svg;
  EXPECT_NE(svg.find(">eval loss</tspan>"), std::string::npos);
  fs::remove(out);
}

TEST(LossCurve, ReadMetricsNamesTheBadLine) {
  const fs::path p = fs::temp_directory_path() / "glint-loss-curve-metrics.jsonl";
  std::ofstream(p) << "{\"step\": 1, \"reward\": 0.5}\n\n{\"step\": 2,\n";
  EXPECT_GLINT_ERROR(train::read_metrics_jsonl(p.string()), "metrics.jsonl:3: not a JSON record");
  std::ofstream(p) << "{\"step\": 1, \"reward\": 0.5}\n";
  const std::vector<nlohmann::json> r = train::read_metrics_jsonl(p.string());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["reward"].get<double>(), 0.5);
  fs::remove(p);
  EXPECT_GLINT_ERROR(train::read_metrics_jsonl(p.string()), "cannot open");
}

}  // namespace
}  // namespace glint::test
