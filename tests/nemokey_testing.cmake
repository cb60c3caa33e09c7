# Test registration helpers shared by every area. Tests mirror the source:
#   tests/unit/<area>/   GoogleTest suites        (label: unit)
#   tests/fuzz/<area>/   libFuzzer targets        (built with NEMOKEY_FUZZ;
#                        otherwise each runs over its seed corpus as a unit test)
#   tests/bench/<area>/  Google Benchmark programs (built, not run by ctest),
#                        and kernel-VM benchmarks (label: bench, not in tests/run-all)
#   tests/kernel-vm/scenarios/<name>.sh  scenarios in the kernel VM (label: kernel)

find_package(GTest REQUIRED)
find_package(benchmark REQUIRED)
include(GoogleTest)

# nemokey_add_unit_test(NAME SOURCES ... [LIBS ...] [LABELS ...] [ENVIRONMENT VAR=value ...])
function(nemokey_add_unit_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS;ENVIRONMENT" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gmock GTest::gtest_main)
  set(properties LABELS "unit;${T_LABELS}")
  if(T_ENVIRONMENT)
    list(APPEND properties ENVIRONMENT "${T_ENVIRONMENT}")
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES ${properties})
endfunction()

# nemokey_add_fuzzer(NAME SOURCES ... [LIBS ...] [CORPUS dir])
# With NEMOKEY_FUZZ the target is a libFuzzer binary. Without it, the same
# entry point is linked to a small driver that feeds every file of the seed
# corpus once, so the fuzz entry points are exercised by every ordinary run.
function(nemokey_add_fuzzer name)
  cmake_parse_arguments(F "" "CORPUS" "SOURCES;LIBS" ${ARGN})
  if(NEMOKEY_FUZZ)
    add_executable(${name} ${F_SOURCES})
    target_link_libraries(${name} PRIVATE ${F_LIBS})
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  else()
    add_executable(${name} ${F_SOURCES} ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus_driver.cpp)
    target_link_libraries(${name} PRIVATE ${F_LIBS})
    if(F_CORPUS)
      add_test(NAME ${name}.corpus COMMAND ${name} ${F_CORPUS})
      set_tests_properties(${name}.corpus PROPERTIES LABELS "unit;fuzz-corpus")
    endif()
  endif()
endfunction()

# nemokey_add_bench(NAME SOURCES ... [LIBS ...])
function(nemokey_add_bench name)
  cmake_parse_arguments(B "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${B_SOURCES})
  target_link_libraries(${name} PRIVATE ${B_LIBS} benchmark::benchmark)
endfunction()

# nemokey_add_vm_scenario(NAME SCRIPT path [TIMEOUT s] [DEPENDS targets...])
# Registers a kernel-VM scenario as its own ctest test, label "kernel". The
# scenario runs as root in the guest, chrooted into the host's root file system.
function(nemokey_add_vm_scenario name)
  cmake_parse_arguments(S "" "SCRIPT;TIMEOUT" "DEPENDS" ${ARGN})
  if(NOT NEMOKEY_WITH_KERNEL_VM)
    return()
  endif()
  if(NOT S_TIMEOUT)
    set(S_TIMEOUT 600)
  endif()
  # The VM gets the test's time less a minute for booting and the verdict.
  math(EXPR vm_timeout "${S_TIMEOUT} - 60")
  add_test(NAME kernel.${name}
    COMMAND ${PROJECT_SOURCE_DIR}/tests/kernel-vm/run-scenario
            --build ${PROJECT_BINARY_DIR} --cache ${NEMOKEY_VM_CACHE} --timeout ${vm_timeout} ${S_SCRIPT})
  # The VM uses both cores; scenarios run one at a time.
  set_tests_properties(kernel.${name} PROPERTIES LABELS kernel TIMEOUT ${S_TIMEOUT}
    RUN_SERIAL TRUE)
endfunction()

# nemokey_add_vm_bench(NAME SCRIPT path [TIMEOUT s])
# A benchmark that runs in the kernel VM: ctest test "bench.NAME" with label
# "bench" only (tests/run-all leaves it out; ctest -L bench runs it). It
# prints its figures; it fails only when it could not measure.
function(nemokey_add_vm_bench name)
  cmake_parse_arguments(S "" "SCRIPT;TIMEOUT" "" ${ARGN})
  if(NOT NEMOKEY_WITH_KERNEL_VM)
    return()
  endif()
  if(NOT S_TIMEOUT)
    set(S_TIMEOUT 1200)
  endif()
  math(EXPR vm_timeout "${S_TIMEOUT} - 60")
  add_test(NAME bench.${name}
    COMMAND ${PROJECT_SOURCE_DIR}/tests/kernel-vm/run-scenario
            --build ${PROJECT_BINARY_DIR} --cache ${NEMOKEY_VM_CACHE} --timeout ${vm_timeout} ${S_SCRIPT})
  set_tests_properties(bench.${name} PROPERTIES LABELS bench TIMEOUT ${S_TIMEOUT} RUN_SERIAL TRUE)
endfunction()

set(NEMOKEY_VM_CACHE "${PROJECT_BINARY_DIR}/kernel-vm" CACHE PATH
    "Where the kernel-VM harness keeps the Debian kernel and initramfs")
