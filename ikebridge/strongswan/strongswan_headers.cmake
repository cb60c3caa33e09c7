# Imported target strongswan::charon: strongSwan's headers, configured like
# Debian's build, and Debian's shared libcharon + libstrongswan.
# Only C code in ikebridge/shim/ may link it: the headers do not compile as C++.

set(NEMOKEY_STRONGSWAN_CACHE "${PROJECT_BINARY_DIR}/strongswan" CACHE PATH
    "Where strongSwan's configured source tree (headers) is cached")
set(NEMOKEY_STRONGSWAN_LIBDIR "/usr/lib/ipsec" CACHE PATH "Where Debian installs libcharon")

execute_process(
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/prepare-headers ${NEMOKEY_STRONGSWAN_CACHE}
  RESULT_VARIABLE prepare_result)
if(NOT prepare_result EQUAL 0)
  message(FATAL_ERROR "strongSwan headers could not be prepared (see above); "
                      "configure with -DNEMOKEY_WITH_CHARON=OFF to build without ikebridge")
endif()

set(ss_src ${NEMOKEY_STRONGSWAN_CACHE}/src)
foreach(lib charon strongswan)
  find_library(NEMOKEY_LIB${lib} NAMES ${lib} PATHS ${NEMOKEY_STRONGSWAN_LIBDIR} NO_DEFAULT_PATH REQUIRED)
endforeach()

add_library(strongswan::charon INTERFACE IMPORTED GLOBAL)
target_include_directories(strongswan::charon SYSTEM INTERFACE
  ${ss_src} ${ss_src}/src/libstrongswan ${ss_src}/src/libcharon)
# library.h refuses to compile without config.h; Debian's build force-includes it.
target_compile_options(strongswan::charon INTERFACE
  $<$<COMPILE_LANGUAGE:C>:-include ${ss_src}/config.h>)
# Both libraries must be named (libcharon alone gives "DSO missing").
target_link_libraries(strongswan::charon INTERFACE ${NEMOKEY_LIBcharon} ${NEMOKEY_LIBstrongswan})
target_link_options(strongswan::charon INTERFACE "-Wl,-rpath,${NEMOKEY_STRONGSWAN_LIBDIR}")

find_path(NEMOKEY_LIBVICI_INCLUDE libvici.h PATHS ${ss_src}/src/libcharon/plugins/vici NO_DEFAULT_PATH)
find_library(NEMOKEY_LIBvici NAMES vici PATHS ${NEMOKEY_STRONGSWAN_LIBDIR} NO_DEFAULT_PATH)
if(NEMOKEY_LIBvici)
  add_library(strongswan::vici INTERFACE IMPORTED GLOBAL)
  target_include_directories(strongswan::vici SYSTEM INTERFACE ${NEMOKEY_LIBVICI_INCLUDE})
  target_link_libraries(strongswan::vici INTERFACE ${NEMOKEY_LIBvici})
  target_link_options(strongswan::vici INTERFACE "-Wl,-rpath,${NEMOKEY_STRONGSWAN_LIBDIR}")
endif()
