#include "trainers/loss_curve.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "runtime/core/error.h"
#include "runtime/io/atomic_file.h"

namespace glint::train {
namespace {

struct Point {
  double step, value;
};

// The (step, value) points of one series, each the trailing mean of `smooth` logged values when smooth > 1.
std::vector<Point> points_of(const std::vector<nlohmann::json>& history, const CurveSeries& s) {
  std::vector<Point> raw, out;
  for (const nlohmann::json& r : history)
    if (r.contains("step") && r.contains(s.key) && r[s.key].is_number())
      raw.push_back({r["step"].get<double>(), r[s.key].get<double>()});
  const size_t window = size_t(std::max<int64_t>(s.smooth, 1));
  double sum = 0;
  for (size_t i = 0; i < raw.size(); ++i) {
    sum += raw[i].value;
    if (i >= window) sum -= raw[i - window].value;
    out.push_back({raw[i].step, sum / double(std::min(i + 1, window))});
  }
  return out;
}

}  // namespace

void write_curves_svg(const std::string& path, const std::vector<nlohmann::json>& history, const std::string& title,
                      const std::vector<CurveSeries>& series) {
  std::vector<std::vector<Point>> curves;
  for (const CurveSeries& s : series) curves.push_back(points_of(history, s));
  constexpr double kW = 640, kH = 360, kL = 60, kR = 20, kT = 40, kB = 40;
  double max_step = 1, lo = 1e30, hi = -1e30;
  for (const std::vector<Point>& pts : curves) {
    for (const Point& p : pts) {
      if (!std::isfinite(p.value)) continue;
      max_step = std::max(max_step, p.step);
      lo = std::min(lo, p.value);
      hi = std::max(hi, p.value);
    }
  }
  if (lo > hi) lo = 0, hi = 1;
  if (hi - lo < 1e-9) hi = lo + 1;
  auto x = [&](double s) { return kL + (kW - kL - kR) * s / max_step; };
  auto y = [&](double v) { return kT + (kH - kT - kB) * (hi - v) / (hi - lo); };
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kW << "\" height=\"" << kH
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << kL << "\" y=\"24\" font-size=\"14\">" << title << "</text>\n"
      << "<line x1=\"" << kL << "\" y1=\"" << kH - kB << "\" x2=\"" << kW - kR << "\" y2=\"" << kH - kB
      << "\" stroke=\"black\"/>\n<line x1=\"" << kL << "\" y1=\"" << kT << "\" x2=\"" << kL << "\" y2=\"" << kH - kB
      << "\" stroke=\"black\"/>\n";
  for (int i = 0; i <= 4; ++i) {  // value ticks
    const double v = lo + (hi - lo) * i / 4;
    svg << "<text x=\"" << kL - 6 << "\" y=\"" << y(v) + 4 << "\" text-anchor=\"end\">" << std::round(v * 100) / 100
        << "</text>\n";
  }
  svg << "<text x=\"" << kW - kR << "\" y=\"" << kH - 12 << "\" text-anchor=\"end\">step " << max_step
      << "</text>\n<text x=\"" << kL << "\" y=\"" << kH - 12 << "\">0</text>\n";
  for (size_t k = 0; k < series.size(); ++k) {
    const CurveSeries& s = series[k];
    if (s.dots) {
      for (const Point& p : curves[k])
        if (std::isfinite(p.value))
          svg << "<circle cx=\"" << x(p.step) << "\" cy=\"" << y(p.value) << "\" r=\"3\" fill=\"" << s.color
              << "\"/>\n";
    } else if (!curves[k].empty()) {
      svg << "<polyline fill=\"none\" stroke=\"" << s.color << "\" stroke-width=\"1.5\" points=\"";
      for (const Point& p : curves[k])
        if (std::isfinite(p.value)) svg << x(p.step) << "," << y(p.value) << " ";
      svg << "\"/>\n";
    }
  }
  svg << "<text x=\"" << kW - kR << "\" y=\"24\" text-anchor=\"end\">";
  for (size_t k = 0, shown = 0; k < series.size(); ++k)  // the legend names the series that have points
    if (!curves[k].empty())
      svg << (shown++ ? " " : "") << "<tspan fill=\"" << series[k].color << "\">" << series[k].label << "</tspan>";
  svg << "</text>\n</svg>\n";
  io::write_file_atomically(path, svg.str(), "train");
}

void write_loss_svg(const std::string& path, const std::vector<nlohmann::json>& history, const std::string& title) {
  write_curves_svg(path, history, title,
                   {{"loss", "train loss", "#1f77b4"}, {"eval_loss", "eval loss", "#d62728", /*dots=*/true}});
}

std::vector<nlohmann::json> read_metrics_jsonl(const std::string& path) {
  std::ifstream in(path);
  GLINT_CHECK(in, "train", path, ": cannot open the metrics file");
  std::vector<nlohmann::json> records;
  size_t n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    if (line.empty()) continue;
    try {
      records.push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::exception& e) {
      fail("train", path, ":", n, ": not a JSON record: ", e.what());
    }
  }
  return records;
}

}  // namespace glint::train
