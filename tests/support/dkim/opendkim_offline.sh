#!/bin/bash
# Offline DKIM verify/sign with OpenDKIM 2.11 (Debian 12) in test mode (-t): no DNS.
# Adapted from ../shared/tools/dkim/opendkim_offline.sh; public keys come from a file through
# the opendkim.conf option TestPublicKeys ("<sel>._domainkey.<dom> <TXT record>" lines).
#
#   verify: opendkim_offline.sh verify MSG KEYS.txt
#           -> prints the Authentication-Results it would add (dkim=pass/fail per signature)
#   sign:   opendkim_offline.sh sign MSG SELECTOR DOMAIN KEY.pem [rsa-sha256|ed25519-sha256] [relaxed/relaxed]
#           -> prints the DKIM-Signature header field it would add
#
# The opendkim binary is the milter of Debian package "opendkim". Installing that package would
# start a system service, so when it is not installed it is unpacked instead (never installed)
# into $MOAT_TOOLS_DIR (default /tmp/moat-tools) with apt-get download + dpkg -x, once.
set -e
find_opendkim() {
  if [ -n "$OPENDKIM" ]; then return; fi
  if command -v opendkim >/dev/null 2>&1; then OPENDKIM=$(command -v opendkim); return; fi
  if [ -x /usr/sbin/opendkim ]; then OPENDKIM=/usr/sbin/opendkim; return; fi
  local root=${MOAT_TOOLS_DIR:-/tmp/moat-tools}/opendkim
  if [ ! -x "$root/usr/sbin/opendkim" ]; then
    mkdir -p "$root.download"
    (cd "$root.download" && { apt-get download opendkim libmilter1.0.1 >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 && apt-get download opendkim libmilter1.0.1 >/dev/null 2>&1; }; }) || {
      echo "opendkim_offline.sh: cannot fetch the opendkim package (apt-get download)" >&2; exit 3; }
    for deb in "$root.download"/*.deb; do dpkg -x "$deb" "$root"; done
  fi
  OPENDKIM=$root/usr/sbin/opendkim
  export LD_LIBRARY_PATH=$root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
}
find_opendkim
mode=$1; msg=$(readlink -f "$2"); tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
case $mode in
where) echo "$OPENDKIM" ;;
verify)
  printf 'Mode v\nSyslog no\nTestPublicKeys %s\nAlwaysAddARHeader yes\n' "$(readlink -f "$3")" > "$tmp/c"
  "$OPENDKIM" -x "$tmp/c" -t "$msg" -vv 2>&1 | grep -v 'returned SMFIS' ;;
sign)
  printf 'Mode s\nSyslog no\nRequireSafeKeys no\nSelector %s\nDomain %s\nKeyFile %s\nSignatureAlgorithm %s\nCanonicalization %s\n' \
    "$3" "$4" "$(readlink -f "$5")" "${6:-rsa-sha256}" "${7:-relaxed/relaxed}" > "$tmp/c"
  "$OPENDKIM" -x "$tmp/c" -t "$msg" 2>/dev/null | sed 1d ;;
*) echo "usage: $0 verify MSG KEYS | sign MSG SEL DOM KEY [alg] [canon] | where" >&2; exit 2 ;;
esac
