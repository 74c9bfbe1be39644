// smtp_envelope.cc - small helpers of the transaction envelope types.
#include "core/smtp_envelope.h"

namespace moat::core {

void XforwardAttributes::Merge(const XforwardAttributes& newer) {
  if (newer.name) name = newer.name;
  if (newer.addr) addr = newer.addr;
  if (newer.port) port = newer.port;
  if (newer.proto) proto = newer.proto;
  if (newer.helo) helo = newer.helo;
  if (newer.ident) ident = newer.ident;
  if (newer.source) source = newer.source;
}

bool XforwardValueAvailable(const std::optional<std::string>& value) {
  return value && *value != kXforwardUnavailable && *value != kXforwardTempUnavailable;
}

}  // namespace moat::core
