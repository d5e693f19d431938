# POCKET_ROOT is the repository (its src/ and tests/); POCKET_TEST_ENVIRONMENT what every test sees. A build
# rooted elsewhere (scripts/cross-aarch64/CMakeLists.txt) sets both before including this file.
if(NOT DEFINED POCKET_ROOT)
  set(POCKET_ROOT ${CMAKE_SOURCE_DIR})
endif()
if(NOT DEFINED POCKET_TEST_ENVIRONMENT)
  set(POCKET_TEST_ENVIRONMENT "POCKET_BIN=$<TARGET_FILE:pocket>;POCKET_SOURCE_DIR=${POCKET_ROOT}")
endif()

# pocket_library(NAME SOURCES ... DEPS ...): a static library for one src/ folder. Headers are included as
# "folder/file.h" from src/; the DEPS list is the only place a folder may reach into another.
function(pocket_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${POCKET_ROOT}/src)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

# pocket_test(NAME LABEL label SOURCES ... DEPS ...): a GoogleTest executable registered with ctest under LABEL
# (unit, golden, fuzz or integration). Tests find the shared reference data through POCKET_SHARED.
function(pocket_test name)
  cmake_parse_arguments(ARG "" "LABEL;TIMEOUT" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} pocket_test_support GTest::gtest GTest::gtest_main)
  add_test(NAME ${name} COMMAND ${name})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 600)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABEL}" TIMEOUT ${ARG_TIMEOUT}
    ENVIRONMENT "${POCKET_TEST_ENVIRONMENT}")
endfunction()
