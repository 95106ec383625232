// The loss curve of a run as an SVG picture (training loss per logged step, eval loss as dots), written beside the
// metrics so a run can be judged at a glance without plotting tools.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace glint::train {

// Draws the "loss" (line) and "eval_loss" (dots) values of `history` (records with "step") to `path`, atomically.
void write_loss_svg(const std::string& path, const std::vector<nlohmann::json>& history, const std::string& title);

}  // namespace glint::train
