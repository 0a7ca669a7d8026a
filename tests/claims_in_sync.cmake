# cmake -DCLAIMS=path/to/zerolr-claims -DREADME=path/to/README.md -P claims_in_sync.cmake
# Fails unless the README's claims table (between the claims:begin and claims:end markers) is
# exactly what zerolr-claims prints now.
execute_process(COMMAND ${CLAIMS} RESULT_VARIABLE rc OUTPUT_VARIABLE table ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "zerolr-claims failed (${rc}): ${err}")
endif()
file(READ ${README} readme)
string(FIND "${readme}" "<!-- claims:begin -->\n" begin)
string(FIND "${readme}" "<!-- claims:end -->" end)
if(begin EQUAL -1 OR end EQUAL -1)
  message(FATAL_ERROR "README.md has no claims:begin/claims:end markers")
endif()
string(LENGTH "<!-- claims:begin -->\n" skip)
math(EXPR from "${begin} + ${skip}")
math(EXPR len "${end} - ${from}")
string(SUBSTRING "${readme}" ${from} ${len} current)
if(NOT current STREQUAL table)
  message(FATAL_ERROR "The README's claims table is stale; regenerate it with build/tools/zerolr-claims.\n"
                      "--- README ---\n${current}\n--- zerolr-claims ---\n${table}")
endif()
message("the README's claims table matches zerolr-claims")
