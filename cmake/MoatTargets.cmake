# Helpers that keep every folder's CMakeLists.txt to a few lines.
#
# moat_library(NAME folder DEPS ...): a static library from every .cc in the folder except
#   main.cc / *_main.cc, with the project root as include root (#include "core/error.h").
# moat_test(NAME target SOURCES ... DEPS ... LABEL unit|integration): a GoogleTest binary
#   registered with gtest_discover_tests.
include(GoogleTest)

# Precompiled headers (MOAT_PCH, on by default): the standard library, fmt, spdlog and Asio are
# parsed once per target instead of once per file. Every target links moat::core, which carries
# Asio's compile definitions, so the headers mean the same thing in every file.
option(MOAT_PCH "Precompile the common third-party headers" ON)
set(MOAT_PCH_HEADERS
  <algorithm> <chrono> <cstdint> <expected> <functional> <map> <memory> <optional> <set>
  <string> <string_view> <unordered_map> <utility> <variant> <vector>
  <fmt/format.h> <spdlog/spdlog.h> <asio.hpp>)

function(moat_precompile_headers target)
  if(MOAT_PCH)
    target_precompile_headers(${target} PRIVATE ${MOAT_PCH_HEADERS} ${ARGN})
  endif()
endfunction()

function(moat_library name)
  cmake_parse_arguments(ARG "" "" "PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  list(FILTER sources EXCLUDE REGEX "(/main\\.cc|_main\\.cc)$")
  if(NOT sources)  # a folder whose code has not landed yet
    set(sources ${CMAKE_CURRENT_BINARY_DIR}/empty_${name}.cc)
    file(WRITE ${sources} "// ${name}: no sources yet\n")
  endif()
  add_library(moat_${name} STATIC ${sources})
  target_include_directories(moat_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(moat_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  add_library(moat::${name} ALIAS moat_${name})
  moat_precompile_headers(moat_${name})
endfunction()

function(moat_test name)
  cmake_parse_arguments(ARG "" "LABEL" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  moat_precompile_headers(${name} <gtest/gtest.h> <gmock/gmock.h>)
  target_compile_definitions(${name} PRIVATE
    MOAT_SOURCE_DIR="${PROJECT_SOURCE_DIR}" MOAT_BINARY_DIR="${CMAKE_BINARY_DIR}")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS ${ARG_LABEL})
endfunction()
