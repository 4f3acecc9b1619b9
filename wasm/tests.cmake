# GoogleTest for the emscripten build (included by tests/CMakeLists.txt): Debian's sources in
# /usr/src/googletest compiled with emcc, and the link flags that let a test binary run under
# node (the preset's CMAKE_CROSSCOMPILING_EMULATOR) with the real file system.
set(gtest_disable_pthreads ON CACHE BOOL "" FORCE)
set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
set(BUILD_GMOCK OFF CACHE BOOL "" FORCE)
add_subdirectory(/usr/src/googletest ${CMAKE_BINARY_DIR}/googletest EXCLUDE_FROM_ALL)
if(NOT TARGET GTest::gtest)  # googletest 1.11+ defines them itself
  add_library(GTest::gtest ALIAS gtest)
  add_library(GTest::gtest_main ALIAS gtest_main)
endif()

set(MORSEL_WASM_TEST_LINK_OPTIONS -sNODERAWFS=1 -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=4GB
    -sENVIRONMENT=node)
if(MORSEL_WASM_THREADS)
  # main() on a worker, so the test may block while its pool threads start.
  list(APPEND MORSEL_WASM_TEST_LINK_OPTIONS -sPROXY_TO_PTHREAD=1 -sEXIT_RUNTIME=1)
endif()
