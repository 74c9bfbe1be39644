# Finds every library of the design. A missing one stops configure and names the Debian
# package that provides it (cmake/debian-deps.sh installs them all).
find_package(PkgConfig REQUIRED)

function(moat_require_pkg target module debian_package)
  pkg_check_modules(${target} IMPORTED_TARGET GLOBAL ${module})
  if(NOT ${target}_FOUND)
    message(FATAL_ERROR "Missing library ${module}: install the Debian package '${debian_package}' "
                        "(apt-get install -y ${debian_package}), or run ./test which installs it.")
  endif()
  add_library(moat::${target} ALIAS PkgConfig::${target})
endfunction()

function(moat_require_cmake_pkg name debian_package)
  find_package(${name} CONFIG QUIET)
  if(NOT ${name}_FOUND)
    message(FATAL_ERROR "Missing CMake package ${name}: install the Debian package '${debian_package}' "
                        "(apt-get install -y ${debian_package}).")
  endif()
endfunction()

moat_require_pkg(clamav libclamav libclamav-dev)
moat_require_pkg(pcre2 libpcre2-8 libpcre2-dev)
moat_require_pkg(archive libarchive libarchive-dev)
moat_require_pkg(gmime gmime-3.0 libgmime-3.0-dev)
moat_require_pkg(magic libmagic libmagic-dev)
moat_require_pkg(cares libcares libc-ares-dev)
moat_require_pkg(sqlite3 sqlite3 libsqlite3-dev)
moat_require_pkg(openssl openssl libssl-dev)
moat_require_pkg(zlib zlib zlib1g-dev)
moat_require_pkg(httplib cpp-httplib libcpp-httplib-dev)
moat_require_pkg(psl libpsl libpsl-dev)

moat_require_cmake_pkg(fmt libfmt-dev)
moat_require_cmake_pkg(spdlog libspdlog-dev)
moat_require_cmake_pkg(CLI11 libcli11-dev)
moat_require_cmake_pkg(nlohmann_json nlohmann-json3-dev)
moat_require_cmake_pkg(GTest libgtest-dev)
moat_require_cmake_pkg(benchmark libbenchmark-dev)

# Standalone Asio is header-only and ships no pkg-config or CMake file.
find_path(ASIO_INCLUDE_DIR asio.hpp)
if(NOT ASIO_INCLUDE_DIR)
  message(FATAL_ERROR "Missing standalone Asio (asio.hpp): install the Debian package 'libasio-dev'.")
endif()
add_library(moat_asio INTERFACE)
target_include_directories(moat_asio SYSTEM INTERFACE ${ASIO_INCLUDE_DIR})
# ASIO_DISABLE_STD_ALIGNED_ALLOC: otherwise a file that includes <asio.hpp> before any standard
# header picks a different operator new than its neighbours (ASan: alloc-dealloc-mismatch).
target_compile_definitions(moat_asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED
                           ASIO_DISABLE_STD_ALIGNED_ALLOC)
add_library(moat::asio ALIAS moat_asio)

find_package(Threads REQUIRED)
