# Every dependency comes from Debian's packages (scripts/setup installs them).
find_package(Threads REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 REQUIRED)
# libspdlog-dev: the one logger (runtime/core/log.hpp). Debian builds it against its libfmt-dev
# (SPDLOG_FMT_EXTERNAL), which spdlog::spdlog carries along.
find_package(spdlog REQUIRED)
# Boost.Beast and Asio (libboost-dev) are header-only: the HTTP server needs no Boost library.
find_package(Boost 1.74 REQUIRED)
# Debian's libgloo-dev: CPU collectives over TCP; its imported target is `gloo`.
find_package(Gloo REQUIRED)
# CAF 0.17 (libcaf-dev): Debian ships no CMake package, so import it. Imported include
# directories count as SYSTEM, so CAF's own warnings never fail our -Werror build.
find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
find_library(CAF_CORE_LIBRARY caf_core REQUIRED)
find_library(CAF_IO_LIBRARY caf_io REQUIRED)
add_library(CAF::core UNKNOWN IMPORTED)
set_target_properties(CAF::core PROPERTIES IMPORTED_LOCATION "${CAF_CORE_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}" INTERFACE_LINK_LIBRARIES Threads::Threads)
add_library(CAF::io UNKNOWN IMPORTED)
set_target_properties(CAF::io PROPERTIES IMPORTED_LOCATION "${CAF_IO_LIBRARY}"
  INTERFACE_LINK_LIBRARIES CAF::core)
# caf-openssl (libcaf-openssl0.17, headers in libcaf-dev): the cluster's mutual TLS. tessera also
# checks the TLS files itself with OpenSSL (libssl-dev) before CAF first reads them.
find_package(OpenSSL REQUIRED)
find_library(CAF_OPENSSL_LIBRARY caf_openssl REQUIRED)
add_library(CAF::openssl UNKNOWN IMPORTED)
set_target_properties(CAF::openssl PROPERTIES IMPORTED_LOCATION "${CAF_OPENSSL_LIBRARY}"
  INTERFACE_LINK_LIBRARIES "CAF::io;OpenSSL::SSL")
find_package(PkgConfig REQUIRED)
pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)
if(TESSERA_TESTS)
  find_package(GTest REQUIRED)
endif()
