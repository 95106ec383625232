// Timing helpers shared by the benchmark programs.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "runtime/core/tensor.h"

namespace glint::bench {

// Median seconds of `reps` runs of `fn` after `warmup` runs; `sync` (if set) runs after each call inside the timing,
// e.g. to wait for a device.
double time_median(const std::function<void()>& fn, int reps = 5, int warmup = 1);
// Waits until all work queued on `device` has finished (no-op on the CPU).
void sync(Device device);
// The devices to benchmark: the CPU and every Vulkan device; `--device D` on the command line limits it to D.
std::vector<Device> bench_devices(int argc, char** argv);
// Whether `flag` is among the arguments, and the value after `name` (or `fallback`).
bool has_flag(int argc, char** argv, const char* flag);
const char* option(int argc, char** argv, const char* name, const char* fallback);
// Wall seconds of one call of fn, and the median of several timings.
double seconds(const std::function<void()>& fn);
double median(std::vector<double> v);
// max |got - want| / max |want|: an error relative to the result's scale (entries near zero carry no meaning).
double max_rel_err(const std::vector<float>& got, const std::vector<float>& want);
// One line describing this machine (CPU model, cores, OpenBLAS threads) for docs/benchmarks.md.
std::string machine_line();

}  // namespace glint::bench
