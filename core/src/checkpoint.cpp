#include "dipole/core/checkpoint.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <filesystem>

#include "dipole/errors.hpp"
#include "dipole/sdk/npz.hpp"

namespace dipole {

namespace {
constexpr std::int64_t kFormatVersion = 1;
const std::string kAlgorithmPrefix = "algorithm.";
const std::string kOnlinePrefix = "online.";
const std::string kPluginBuilds = "meta.plugin_builds";
}  // namespace

void save_checkpoint(const std::string& path, const TrainingState& state) {
  std::map<std::string, npz::Array> arrays;
  arrays["format_version"] = npz::from_tensor(at::scalar_tensor(kFormatVersion, at::kLong));
  arrays["step"] = npz::from_tensor(at::scalar_tensor(state.step, at::kLong));
  arrays["rng.data"] = npz::from_tensor(state.data_generator);
  arrays["rng.algorithm"] = npz::from_tensor(state.algorithm_generator);
  for (const auto& [key, tensor] : state.algorithm) {
    if (!tensor.defined())
      throw DataError(fmt::format("checkpoint {}: state entry '{}' is undefined", path, key));
    arrays[kAlgorithmPrefix + key] = npz::from_tensor(tensor.detach());
  }
  for (const auto& [key, tensor] : state.online) {
    if (!tensor.defined())
      throw DataError(fmt::format("checkpoint {}: online state entry '{}' is undefined", path, key));
    arrays[kOnlinePrefix + key] = npz::from_tensor(tensor.detach().contiguous());
  }
  if (!state.plugin_builds.empty()) {
    npz::Array text;
    text.dtype = npz::DType::UInt8;
    text.shape = {static_cast<std::int64_t>(state.plugin_builds.size())};
    text.data.assign(state.plugin_builds.begin(), state.plugin_builds.end());
    arrays[kPluginBuilds] = std::move(text);
  }
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  npz::write_npz(path, arrays, /*compressed=*/false);  // atomic: temp file + rename
}

TrainingState load_checkpoint(const std::string& path) {
  if (!std::filesystem::exists(path)) throw DataError(fmt::format("checkpoint '{}' does not exist", path));
  auto arrays = npz::read_npz(path);
  auto take = [&](const std::string& key) {
    auto it = arrays.find(key);
    if (it == arrays.end())
      throw DataError(
          fmt::format("checkpoint '{}' has no '{}' entry; it is not a Dipole checkpoint", path, key));
    return npz::to_tensor(it->second);
  };
  const std::int64_t version = take("format_version").item<std::int64_t>();
  if (version != kFormatVersion)
    throw DataError(
        fmt::format("checkpoint '{}' has format version {}, expected {}", path, version, kFormatVersion));
  TrainingState state;
  const at::Tensor step = take("step");
  if (step.numel() != 1 || at::isFloatingType(step.scalar_type()) || step.scalar_type() == at::kBool)
    throw DataError(fmt::format("checkpoint '{}': 'step' must be one integer", path));
  state.step = step.item<std::int64_t>();
  if (state.step < 0)
    throw DataError(
        fmt::format("checkpoint '{}': step {} is negative; the file is damaged", path, state.step));
  state.data_generator = take("rng.data");
  state.algorithm_generator = take("rng.algorithm");
  if (const auto it = arrays.find(kPluginBuilds); it != arrays.end()) {
    if (it->second.dtype != npz::DType::UInt8 || it->second.shape.size() != 1)
      throw DataError(fmt::format("checkpoint '{}': '{}' must be a uint8 vector (text); the file is damaged",
                                  path, kPluginBuilds));
    state.plugin_builds.assign(it->second.data.begin(), it->second.data.end());
  }
  for (auto& [key, array] : arrays)
    if (key.rfind(kAlgorithmPrefix, 0) == 0)
      state.algorithm[key.substr(kAlgorithmPrefix.size())] = npz::to_tensor(array);
    else if (key.rfind(kOnlinePrefix, 0) == 0)
      state.online[key.substr(kOnlinePrefix.size())] = npz::to_tensor(array);
  return state;
}

}  // namespace dipole
