# cmake -DEXE=... -DARGS=a;b;c -DWANT=2 -DREASON=text -P expect_exit.cmake
# Runs EXE with ARGS and fails unless it exits with status WANT and its output (stdout and
# stderr) contains REASON.
execute_process(COMMAND ${EXE} ${ARGS} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc STREQUAL "${WANT}")
  message(FATAL_ERROR "expected exit status ${WANT}, got ${rc}")
endif()
string(FIND "${out}${err}" "${REASON}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "expected the output to say '${REASON}'")
endif()
