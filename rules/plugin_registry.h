// plugin_registry.h - which SpamAssassin plugins and capabilities `if`/`ifplugin` lines see.
//
// SpamAssassin's rule files guard rules with `ifplugin Mail::SpamAssassin::Plugin::X`,
// `if plugin(X)`, `if can(X::method)` and `if (version >= 3.004000)`. Moat is not Perl: it
// answers from this fixed table. The known plugins are the ones SpamAssassin's default .pre
// files load (so stock rule files keep the shape they have under `spamassassin`): their regex
// rules run, their `eval:` rules are counted as unsupported. Any other plugin is unknown and
// treated as absent, so its blocks are skipped. `can()`/`has()` answer true for SpamAssassin's
// Conf feature_* functions, the has_* functions of known plugins, and compat_* names enabled
// with `enable_compat`.
//
// Thread-safe: everything here is immutable after construction.
#pragma once

#include <set>
#include <string>
#include <string_view>

namespace moat::rules {

// The SpamAssassin version whose rule files Moat reads, as `if (version >= ...)` sees it.
inline constexpr double kEmulatedSpamAssassinVersion = 4.000001;
inline constexpr double kEmulatedPerlVersion = 5.036000;

// Canonical plugin name (old aliases such as ...::Dmarc and ...::WhiteListSubject mapped).
std::string CanonicalPluginName(std::string_view name);

// The plugins treated as loaded by default.
const std::set<std::string>& DefaultPlugins();

// True when `can(Module::method)` holds with the given loaded plugins and enabled compat names.
bool CapabilityAvailable(std::string_view qualified_method, const std::set<std::string>& plugins,
                         const std::set<std::string>& compat);

}  // namespace moat::rules
