// web_assets.cc - lookup of the embedded review assets.
#include "cli/web_assets.h"

namespace moat::cli {
namespace {

std::string_view ContentType(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

}  // namespace

std::optional<WebAsset> FindWebAsset(std::string_view name) {
  if (name.empty() || name.find('/') != std::string_view::npos || name.starts_with('.')) {
    return std::nullopt;
  }
  for (size_t i = 0; i < kEmbeddedWebFileCount; ++i) {
    const EmbeddedWebFile& file = kEmbeddedWebFiles[i];
    if (name == file.name) {
      return WebAsset{file.name, ContentType(name),
                      std::string_view(reinterpret_cast<const char*>(file.data), file.size)};
    }
  }
  return std::nullopt;
}

}  // namespace moat::cli
