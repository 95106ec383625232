// Model ids resolved the way huggingface_hub finds files offline: a local path wins, else `org/name[@revision]`
// is looked up in the hub cache (models--org--name/refs/<revision> -> snapshots/<commit>/).
#pragma once
#include <string>
#include <vector>

namespace glint::io {

// The hub cache folder: $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub.
std::string hub_cache_dir();

// An existing file or folder is returned as given. Otherwise `id_or_path` is a model id ("gpt2", "org/name",
// "org/name@revision"; the revision is a branch or tag name under refs/, or a 40-hex commit used directly) and the
// result is its snapshot folder. A missing model throws an error listing every place looked at.
std::string resolve_model(const std::string& id_or_path);

}  // namespace glint::io
