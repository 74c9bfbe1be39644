# debian-deps.sh - sourced by ./run and ./test: installs the Debian packages Moat needs.
#
# moat_install_packages GROUP...   GROUP is build, run or test.
# Missing packages are installed with apt-get (update once, then install -y) when running as root;
# otherwise the command to run is printed and the script stops.

MOAT_BUILD_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libclamav-dev libpcre2-dev libarchive-dev libgmime-3.0-dev libmagic-dev libc-ares-dev
  libsqlite3-dev libssl-dev zlib1g-dev libfmt-dev libspdlog-dev libcli11-dev nlohmann-json3-dev
  libcpp-httplib-dev libasio-dev libgtest-dev libgmock-dev libbenchmark-dev libpsl-dev
)
# What ./run's appliance uses besides the binaries: sigtool (clamav) for its small signature
# database, smtp-sink (postfix) as the internal mail server, publicsuffix for moat-filterd's
# DMARC organisational domains; and what the README's walk-through uses: swaks, zip, dkimpy
# (python3-dkim) to verify a signature, curl for the web API.
MOAT_RUN_PACKAGES=(openssl swaks clamav postfix publicsuffix zip python3-dkim curl)
# Real peers the tests talk to: clients, servers and verifiers no one here wrote.
MOAT_TEST_PACKAGES=(
  openssl swaks postfix postfix-pcre python3 python3-dkim opendkim-tools libmail-dkim-perl
  dnsmasq-base clamav clamav-testfiles spamassassin libpython3.11-testsuite zip unzip p7zip-full
  amavisd-new
  gcab xz-utils bzip2 zstd libarchive-tools lz4
  python3-spf python3-dnspython publicsuffix python3-prometheus-client
  chromium chromium-driver python3-selenium
  systemd curl
)

moat_missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
  done
}

moat_install_packages() {
  local wanted=() group
  for group in "$@"; do
    case "$group" in
      build) wanted+=("${MOAT_BUILD_PACKAGES[@]}") ;;
      run) wanted+=("${MOAT_RUN_PACKAGES[@]}") ;;
      test) wanted+=("${MOAT_TEST_PACKAGES[@]}") ;;
      *) echo "moat_install_packages: unknown group $group" >&2; return 2 ;;
    esac
  done
  local missing
  missing=$(moat_missing_packages "${wanted[@]}" | sort -u | tr '\n' ' ')
  [ -z "${missing// }" ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing Debian packages. Run as root:" >&2
    echo "  apt-get update && apt-get install -y $missing" >&2
    exit 1
  fi
  echo "Installing Debian packages: $missing"
  export DEBIAN_FRONTEND=noninteractive
  # Postfix is only a test peer here: never configure or start the system instance.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing
}

# moat_build DIR [CMAKE_ARGS...] [-- TARGETS...]: configure DIR (again whenever the arguments
# change) and build the targets (default: all).
moat_build() {
  local dir=$1
  shift
  local cmake_args=() targets=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do cmake_args+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  targets=("$@")
  local stamp="$dir/.moat-configure-args"
  if [ ! -f "$dir/build.ninja" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${cmake_args[*]}" ]; then
    cmake -S . -B "$dir" -G Ninja "${cmake_args[@]}"
    echo "${cmake_args[*]}" > "$stamp"
  fi
  if [ ${#targets[@]} -gt 0 ]; then
    cmake --build "$dir" -j "$(nproc)" --target "${targets[@]}"
  else
    cmake --build "$dir" -j "$(nproc)"
  fi
}
