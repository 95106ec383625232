#include "trainers/loss_curve.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "runtime/io/atomic_file.h"

namespace glint::train {

void write_loss_svg(const std::string& path, const std::vector<nlohmann::json>& history, const std::string& title) {
  struct Point {
    double step, loss;
  };
  std::vector<Point> train, eval;
  for (const nlohmann::json& r : history) {
    if (!r.contains("step")) continue;
    if (r.contains("loss")) train.push_back({r["step"].get<double>(), r["loss"].get<double>()});
    if (r.contains("eval_loss")) eval.push_back({r["step"].get<double>(), r["eval_loss"].get<double>()});
  }
  constexpr double kW = 640, kH = 360, kL = 60, kR = 20, kT = 40, kB = 40;
  double max_step = 1, lo = 1e30, hi = -1e30;
  for (const auto* pts : {&train, &eval}) {
    for (const Point& p : *pts) {
      if (!std::isfinite(p.loss)) continue;
      max_step = std::max(max_step, p.step);
      lo = std::min(lo, p.loss);
      hi = std::max(hi, p.loss);
    }
  }
  if (lo > hi) lo = 0, hi = 1;
  if (hi - lo < 1e-9) hi = lo + 1;
  auto x = [&](double s) { return kL + (kW - kL - kR) * s / max_step; };
  auto y = [&](double l) { return kT + (kH - kT - kB) * (hi - l) / (hi - lo); };
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kW << "\" height=\"" << kH
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << kL << "\" y=\"24\" font-size=\"14\">" << title << "</text>\n"
      << "<line x1=\"" << kL << "\" y1=\"" << kH - kB << "\" x2=\"" << kW - kR << "\" y2=\"" << kH - kB
      << "\" stroke=\"black\"/>\n<line x1=\"" << kL << "\" y1=\"" << kT << "\" x2=\"" << kL << "\" y2=\"" << kH - kB
      << "\" stroke=\"black\"/>\n";
  for (int i = 0; i <= 4; ++i) {  // loss ticks
    const double l = lo + (hi - lo) * i / 4;
    svg << "<text x=\"" << kL - 6 << "\" y=\"" << y(l) + 4 << "\" text-anchor=\"end\">" << std::round(l * 100) / 100
        << "</text>\n";
  }
  svg << "<text x=\"" << kW - kR << "\" y=\"" << kH - 12 << "\" text-anchor=\"end\">step " << max_step
      << "</text>\n<text x=\"" << kL << "\" y=\"" << kH - 12 << "\">0</text>\n";
  if (!train.empty()) {
    svg << "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"";
    for (const Point& p : train)
      if (std::isfinite(p.loss)) svg << x(p.step) << "," << y(p.loss) << " ";
    svg << "\"/>\n";
  }
  for (const Point& p : eval)
    if (std::isfinite(p.loss))
      svg << "<circle cx=\"" << x(p.step) << "\" cy=\"" << y(p.loss) << "\" r=\"3\" fill=\"#d62728\"/>\n";
  svg << "<text x=\"" << kW - kR << "\" y=\"24\" text-anchor=\"end\"><tspan fill=\"#1f77b4\">train loss</tspan>"
      << (eval.empty() ? "" : " <tspan fill=\"#d62728\">eval loss</tspan>") << "</text>\n</svg>\n";
  io::write_file_atomically(path, svg.str(), "train");
}

}  // namespace glint::train
