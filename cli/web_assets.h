// web_assets.h - the pages, script and style sheet of the browser review, built into the binary.
//
// The files under cli/web_assets/ are written by hand (no framework, nothing fetched at run time:
// the review works on a gateway with no internet) and turned into byte arrays at build time by
// cli/web_assets_embed.cmake, which defines kEmbeddedWebFiles in the generated
// web_assets_data.cc. FindWebAsset() serves them by file name with a content type from the
// extension.
//
// Immutable data; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace moat::cli {

struct EmbeddedWebFile {
  const char* name;  // file name under cli/web_assets/ ("app.js")
  const unsigned char* data;
  size_t size;
};
extern const EmbeddedWebFile kEmbeddedWebFiles[];
extern const size_t kEmbeddedWebFileCount;

struct WebAsset {
  std::string_view name;
  std::string_view content_type;  // "text/javascript; charset=utf-8", ...
  std::string_view data;
};

// The asset of that file name, or nullopt (also for names with '/' or "..").
std::optional<WebAsset> FindWebAsset(std::string_view name);

}  // namespace moat::cli
