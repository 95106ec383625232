#include "runtime/io/progress_bar.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace glint::io {

std::string format_seconds(double seconds) {
  const int64_t t = int64_t(seconds);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", (long long)(t / 3600), (long long)(t / 60 % 60),
                (long long)(t % 60));
  return buf;
}

ProgressBar::ProgressBar(int64_t total, int64_t done)
    : total_(std::max<int64_t>(total, 1)),
      first_(done),
      active_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()) {}

void ProgressBar::finish() {
  if (drawn_) std::fprintf(stderr, "\n");
  drawn_ = false;
}

void ProgressBar::update(int64_t done, const std::string& text) {
  if (!active_) return;
  constexpr int kWidth = 30;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double per_step = elapsed / double(std::max<int64_t>(done - first_, 1));
  const int filled = int(std::clamp<int64_t>(kWidth * done / total_, 0, kWidth));
  std::fprintf(stderr, "\r[%s%s] %lld/%lld %s%sETA %s ", std::string(size_t(filled), '#').c_str(),
               std::string(size_t(kWidth - filled), ' ').c_str(), (long long)done, (long long)total_, text.c_str(),
               text.empty() ? "" : " ", format_seconds(per_step * double(total_ - done)).c_str());
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace glint::io
