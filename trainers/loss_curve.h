// Curves of a run as SVG pictures (training loss per logged step, eval loss as dots; GRPO's mean reward), written
// beside the metrics so a run can be judged at a glance without plotting tools.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace glint::train {

// One plotted metric: its key in the history records, legend label and colour; a line, or dots when `dots`;
// with `smooth` > 1 each point is the mean of the last `smooth` logged values (a noisy metric's trend).
struct CurveSeries {
  std::string key, label, color;
  bool dots = false;
  int64_t smooth = 0;
};

// Draws `series` of `history` (records with "step") on shared axes to `path`, atomically.
void write_curves_svg(const std::string& path, const std::vector<nlohmann::json>& history, const std::string& title,
                      const std::vector<CurveSeries>& series);

// Draws the "loss" (line) and "eval_loss" (dots) values of `history` (records with "step") to `path`, atomically.
void write_loss_svg(const std::string& path, const std::vector<nlohmann::json>& history, const std::string& title);

// Reads a run's metrics.jsonl (one JSON record per line); "[train] ..." naming the file and line when one is not JSON.
std::vector<nlohmann::json> read_metrics_jsonl(const std::string& path);

}  // namespace glint::train
