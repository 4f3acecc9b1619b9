# The emscripten build's dependencies, included by the top-level CMakeLists.txt before
# morsel_runtime: what find_package cannot find inside emscripten's sysroot.
#   nlohmann_json::nlohmann_json  Debian's header-only nlohmann/json, exposed alone (not the rest
#                                 of /usr/include, whose host libc headers would shadow emscripten's)
#   MORSEL_WASM_SIMD (ON)         -msimd128 for everything, and the wasmsimd f32 kernels
#   MORSEL_WASM_THREADS (OFF)     -pthread for everything (the morsel-mt build)
option(MORSEL_WASM_SIMD "WASM build: SIMD128 everywhere and the wasmsimd kernels" ON)
option(MORSEL_WASM_THREADS "WASM build: pthreads (needs a cross-origin isolated page)" OFF)

find_path(MORSEL_NLOHMANN_DIR nlohmann/json.hpp PATHS /usr/include NO_DEFAULT_PATH
          NO_CMAKE_FIND_ROOT_PATH REQUIRED)
set(MORSEL_NLOHMANN_ONLY ${CMAKE_BINARY_DIR}/nlohmann-only)
file(MAKE_DIRECTORY ${MORSEL_NLOHMANN_ONLY})
file(CREATE_LINK ${MORSEL_NLOHMANN_DIR}/nlohmann ${MORSEL_NLOHMANN_ONLY}/nlohmann SYMBOLIC)
add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
target_include_directories(nlohmann_json::nlohmann_json SYSTEM INTERFACE ${MORSEL_NLOHMANN_ONLY})

if(MORSEL_WASM_SIMD)
  add_compile_options(-msimd128)
endif()
if(MORSEL_WASM_THREADS)
  add_compile_options(-pthread)
  add_link_options(-pthread)
endif()
