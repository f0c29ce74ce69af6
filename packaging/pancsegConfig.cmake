# CMake package config of an installed pancseg (scripts/install.sh). Defines:
#   pancseg::pancseg         the shared library (libpancseg.so)
#   pancseg::pancseg_static  the static library (libpancseg.a) with its system libraries
#   PANCSEG_ORT_LIBRARY      the ONNX Runtime library installed beside it (loaded at run time)
#   PANCSEG_MODEL_DIR        the installed default model bundle (may not exist)
get_filename_component(_pancseg_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET pancseg::pancseg)
  add_library(pancseg::pancseg SHARED IMPORTED)
  set_target_properties(pancseg::pancseg PROPERTIES
    IMPORTED_LOCATION "${_pancseg_prefix}/lib/libpancseg.so"
    IMPORTED_NO_SONAME TRUE
    INTERFACE_INCLUDE_DIRECTORIES "${_pancseg_prefix}/include")
  add_library(pancseg::pancseg_static STATIC IMPORTED)
  set_target_properties(pancseg::pancseg_static PROPERTIES
    IMPORTED_LOCATION "${_pancseg_prefix}/lib/libpancseg.a"
    INTERFACE_INCLUDE_DIRECTORIES "${_pancseg_prefix}/include"
    INTERFACE_LINK_LIBRARIES "stdc++;gcc_s;util;rt;pthread;m;dl;c")
endif()
set(PANCSEG_ORT_LIBRARY "${_pancseg_prefix}/lib/libonnxruntime.so")
set(PANCSEG_MODEL_DIR "${_pancseg_prefix}/share/pancseg/models/default")
set(pancseg_FOUND TRUE)
