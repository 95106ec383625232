// A one-line progress bar on stderr for long loops (training steps, denoising steps), drawn only when stderr is a
// terminal so that logs and pipes stay clean: [#####     ] done/total <caller's text> ETA hh:mm:ss.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace glint::io {

// Seconds as hh:mm:ss.
std::string format_seconds(double seconds);

class ProgressBar {
 public:
  // A bar to `total` steps; `done` were finished before this run (a resumed training), which the ETA leaves out.
  explicit ProgressBar(int64_t total, int64_t done = 0);
  ~ProgressBar() { finish(); }
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Redraws the bar at `done` steps with `text` after the count (e.g. "loss 0.1234").
  void update(int64_t done, const std::string& text = "");
  // Ends the line if anything was drawn, so that later output starts on its own line.
  void finish();
  // Whether the bar draws at all (stderr is a terminal).
  bool active() const { return active_; }

 private:
  int64_t total_, first_;
  bool active_, drawn_ = false;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace glint::io
