# ctest helper: the corpus replay of fuzz_optimizer_plugin against a broken plug-in must stop
# with a freeze finding (the replay aborts, as libFuzzer would record it).
#   cmake -DEXE=... -DCORPUS=... -DPLUGIN=... -P expect_finding.cmake
set(ENV{ZEROLR_PLUGIN} "${PLUGIN}")
execute_process(COMMAND "${EXE}" "${CORPUS}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "the corpus replay did not catch ${PLUGIN}:\n${out}${err}")
endif()
if(NOT err MATCHES "FINDING: [^\n]*freeze")
  message(FATAL_ERROR "the replay failed (${rc}) without a freeze finding:\n${err}")
endif()
string(REGEX MATCH "==zerolr-fuzz== FINDING: [^\n]*" finding "${err}")
message(STATUS "caught as expected: ${finding}")
