# Decides whether the CUDA targets are built: AUTO builds them when a CUDA compiler is found.
include(CheckLanguage)
set(TESSERA_WITH_CUDA OFF)
if(NOT TESSERA_CUDA STREQUAL "OFF")
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    # NCCL carries the tensors between GPU ranks; it ships beside the toolkit, not as part of it.
    find_path(TESSERA_NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
    find_library(TESSERA_NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR})
    if(NOT TESSERA_NCCL_INCLUDE_DIR OR NOT TESSERA_NCCL_LIBRARY)
      message(FATAL_ERROR "the CUDA backend needs NCCL (nccl.h and libnccl), which was not found "
                          "beside the CUDA toolkit in ${CUDAToolkit_LIBRARY_DIR}; install it or "
                          "configure with -DTESSERA_CUDA=OFF")
    endif()
    add_library(TESSERA::nccl UNKNOWN IMPORTED)
    set_target_properties(TESSERA::nccl PROPERTIES IMPORTED_LOCATION "${TESSERA_NCCL_LIBRARY}"
                          INTERFACE_INCLUDE_DIRECTORIES "${TESSERA_NCCL_INCLUDE_DIR}")
    set(TESSERA_WITH_CUDA ON)
  elseif(TESSERA_CUDA STREQUAL "ON")
    message(FATAL_ERROR "TESSERA_CUDA=ON but no CUDA compiler was found (looked for nvcc)")
  endif()
endif()
message(STATUS "tessera: CUDA backend ${TESSERA_WITH_CUDA}")
