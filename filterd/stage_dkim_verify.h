// stage_dkim_verify.h - DKIM verification of inbound mail (an I/O stage: keys come from DNS).
//
// For every DKIM-Signature of the message as received: a result (pass, fail, neutral, policy,
// temperror, permerror; dkim_verifier.h), one finding each (stage "dkim", class CLEAN, name =
// the result, detail = d= s= a= and the reason), and the "dkim" artefact with the results, the
// author domain and the SpamAssassin names they give (DKIM_SIGNED, DKIM_VALID, DKIM_VALID_AU,
// DKIM_INVALID) - the spam stage hands the results to the rules, `moat scan` prints them.
// With an authserv_id it plans two header edits: remove incoming Authentication-Results fields
// that claim our authserv-id (forgeries or loops, RFC 8601 section 5), then prepend our own.
//
// Keys are looked up through a core::DnsResolver bound to the executor the stage runs on,
// obtained from the DnsResolverProvider for each message (the daemon hands out one resolver
// per io_context; `moat scan` creates one). DNS trouble is a result, not an error: a timeout or
// SERVFAIL is temperror for that signature; a resolver that cannot be created makes every
// signature temperror. The stage itself never fails, so mail is never deferred for DKIM.
//
// CPU cost: body hashes run on the calling executor (a few microseconds per KB); messages
// without a DKIM-Signature cost one header scan.
// Immutable; RunAsync() may run concurrently for different messages.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <asio/any_io_executor.hpp>

#include "core/dns_resolver.h"
#include "filterd/dkim_verifier.h"
#include "filterd/stage.h"

namespace moat::filterd {

// Returns a resolver usable on `executor` (shared: the provider may cache one per io_context).
using DnsResolverProvider = std::function<core::Result<std::shared_ptr<core::DnsResolver>>(
    const asio::any_io_executor& executor)>;

struct DkimVerifyStageOptions {
  std::string authserv_id;  // empty: no Authentication-Results header edits
  DkimVerifyOptions verify;
  std::function<int64_t()> now;  // Unix time; unset = the system clock
};

class DkimVerifyStage : public Stage {
 public:
  DkimVerifyStage(DnsResolverProvider dns, DkimVerifyStageOptions options);

  std::string_view name() const override { return "dkim"; }
  bool is_async() const override { return true; }
  asio::awaitable<core::Status> RunAsync(MessageContext& context) const override;

 private:
  DnsResolverProvider dns_;
  DkimVerifyStageOptions options_;
};

// The value of an Authentication-Results field (without the name, unfolded) for `results`.
std::string AuthenticationResultsValue(std::string_view authserv_id,
                                       const std::vector<DkimSignatureResult>& results);

}  // namespace moat::filterd
