# cmake -DSTATIC=fuzz_parse.dict -DGENERATOR=zerolr_fuzz_dict -DOUT=out.dict -P make_dict.cmake
# Writes the static dictionary followed by what the generator prints (the registry's words).
execute_process(COMMAND ${GENERATOR} RESULT_VARIABLE rc OUTPUT_VARIABLE generated ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${GENERATOR} failed (${rc}): ${err}")
endif()
file(READ ${STATIC} static)
file(WRITE ${OUT} "${static}\n${generated}")
