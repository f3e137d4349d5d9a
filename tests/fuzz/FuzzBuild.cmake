# Included by the top-level CMakeLists.txt when TESSERA_FUZZ is on, before anything is defined:
# every target of the build, the runtime libraries included, is compiled with the sanitizers and
# libFuzzer's coverage instrumentation, so that a bug is caught where it happens, inside the
# library, rather than only where its effects reach the harness.
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR
    "TESSERA_FUZZ needs clang (libFuzzer is part of clang), but the C++ compiler is "
    "${CMAKE_CXX_COMPILER_ID} (${CMAKE_CXX_COMPILER}). Configure a fresh build folder with "
    "CC=clang CXX=clang++, as scripts/fuzz does.")
endif()

# Normal variables shadow the options and cache entries of the same names (policy CMP0077).
# Warnings do not fail this build: -Werror is tuned for GCC, and clang warns differently.
set(TESSERA_WERROR OFF)
set(TESSERA_TESTS OFF)
set(TESSERA_BENCH OFF)
set(TESSERA_CUDA OFF)
# Asserts stay on (no NDEBUG): nlohmann's and libstdc++'s checks are findings too.
if(NOT CMAKE_BUILD_TYPE)
  set(CMAKE_BUILD_TYPE Debug CACHE STRING "Build type" FORCE)
endif()

# libFuzzer's runtime ships in libclang-rt-<version>-dev (scripts/setup installs it); without it
# the harnesses would only fail at link time, with an obscure message.
include(CheckCXXSourceCompiles)
set(CMAKE_REQUIRED_FLAGS "-fsanitize=fuzzer,address,undefined")
check_cxx_source_compiles(
  "#include <cstddef>
   #include <cstdint>
   extern \"C\" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t) { return 0; }"
  TESSERA_HAVE_LIBFUZZER)
unset(CMAKE_REQUIRED_FLAGS)
if(NOT TESSERA_HAVE_LIBFUZZER)
  message(FATAL_ERROR
    "clang cannot link a libFuzzer harness with ASan and UBSan: install clang's sanitizer "
    "runtime (Debian: libclang-rt-14-dev, which scripts/setup installs)")
endif()

# -O1: fast enough to fuzz, still debuggable. -fno-sanitize-recover: every UBSan report ends the
# run, so it becomes a finding with a reproducer. _GLIBCXX_ASSERTIONS bounds-checks
# std::vector/string indexing inside objects, where ASan's redzones cannot see.
add_compile_options(-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined
                    -fno-sanitize-recover=all -fsanitize=fuzzer-no-link -D_GLIBCXX_ASSERTIONS)
add_link_options(-fsanitize=address,undefined)
