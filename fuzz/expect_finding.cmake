# ctest helper: the corpus replay of fuzz_optimizer_plugin against a broken plug-in (or
# worker, through ZEROLR_WORKER) must stop with a finding of the kind FINDING names (default
# freeze); the replay aborts, as libFuzzer would record it.
#   cmake -DEXE=... -DCORPUS=... -DPLUGIN=... [-DFINDING=regex] -P expect_finding.cmake
if(NOT DEFINED FINDING)
  set(FINDING "freeze")
endif()
if(PLUGIN)
  set(ENV{ZEROLR_PLUGIN} "${PLUGIN}")
endif()
execute_process(COMMAND "${EXE}" "${CORPUS}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "the corpus replay did not catch ${PLUGIN}$ENV{ZEROLR_WORKER}:\n${out}${err}")
endif()
if(NOT err MATCHES "FINDING: [^\n]*${FINDING}")
  message(FATAL_ERROR "the replay failed (${rc}) without a ${FINDING} finding:\n${err}")
endif()
string(REGEX MATCH "==zerolr-fuzz== FINDING: [^\n]*" finding "${err}")
message(STATUS "caught as expected: ${finding}")
