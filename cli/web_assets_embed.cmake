# web_assets_embed.cmake - run with `cmake -P` at build time: writes a C++ file holding every file
# of ASSET_DIR (cli/web_assets/) as a byte array, so `moat web` serves its pages from any
# directory with nothing installed beside the binary (cli/web_assets.h declares the table).
#
#   cmake -DASSET_DIR=<dir> -DOUTPUT=<file.cc> -P web_assets_embed.cmake
cmake_minimum_required(VERSION 3.25)
file(GLOB assets RELATIVE ${ASSET_DIR} ${ASSET_DIR}/*)
list(SORT assets)
set(body "// Generated from cli/web_assets/ by cli/web_assets_embed.cmake. Do not edit.\n")
string(APPEND body "#include \"cli/web_assets.h\"\n\nnamespace moat::cli {\nnamespace {\n")
set(table "")
set(index 0)
foreach(name ${assets})
  if(IS_DIRECTORY ${ASSET_DIR}/${name})
    continue()
  endif()
  file(READ ${ASSET_DIR}/${name} hex HEX)
  string(LENGTH "${hex}" hex_length)
  math(EXPR size "${hex_length} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  # 16 bytes a line keeps the generated file readable in a debugger.
  string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){16})" "\\1\n    " bytes "${bytes}")
  string(APPEND body "const unsigned char kFile${index}[] = {\n    ${bytes}0x00};\n")
  string(APPEND table "    {\"${name}\", kFile${index}, ${size}},\n")
  math(EXPR index "${index} + 1")
endforeach()
string(APPEND body "}  // namespace\n\nconst EmbeddedWebFile kEmbeddedWebFiles[] = {\n${table}};\n")
string(APPEND body "const size_t kEmbeddedWebFileCount = ${index};\n\n}  // namespace moat::cli\n")
# Rewrite only on change, so an unrelated rebuild does not recompile the assets.
if(EXISTS ${OUTPUT})
  file(READ ${OUTPUT} old)
  if(old STREQUAL body)
    return()
  endif()
endif()
file(WRITE ${OUTPUT} "${body}")
