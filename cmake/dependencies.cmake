# Every third-party library kofu uses, each behind one imported target.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(RocksDB 7 CONFIG REQUIRED)
find_package(nlohmann_json 3 CONFIG REQUIRED)
pkg_check_modules(PODOFO REQUIRED IMPORTED_TARGET libpodofo)
pkg_check_modules(HARFBUZZ REQUIRED IMPORTED_TARGET harfbuzz harfbuzz-subset)
pkg_check_modules(DEFLATE REQUIRED IMPORTED_TARGET libdeflate)

# CAF 0.17.6 ships no CMake config: wrap the core library ourselves.
find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
find_library(CAF_CORE_LIBRARY caf_core REQUIRED)
add_library(caf::core SHARED IMPORTED)
set_target_properties(caf::core PROPERTIES
  IMPORTED_LOCATION ${CAF_CORE_LIBRARY}
  INTERFACE_INCLUDE_DIRECTORIES ${CAF_INCLUDE_DIR}
  INTERFACE_LINK_LIBRARIES Threads::Threads)

# A folder's object library: kofu_add_module(name sources... DEPS targets...)
function(kofu_add_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  if(KOFU_DEV_PARTIAL)
    # While several engineers edit folders at once: skip sources that do not exist yet.
    list(FILTER M_SOURCES EXCLUDE REGEX "^$")
    set(present "")
    foreach(s IN LISTS M_SOURCES)
      if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${s})
        list(APPEND present ${s})
      endif()
    endforeach()
    set(M_SOURCES ${present} ${PROJECT_SOURCE_DIR}/cmake/empty.cpp)
  endif()
  add_library(${name} OBJECT ${M_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${M_DEPS})
endfunction()
