# zerolr_add_optimizer_audit(NAME PLUGIN_TARGET [CASES N] [SEED S] [LABELS ...])
#
# Adds a ctest test NAME that audits the optimizer plug-in built by PLUGIN_TARGET (a MODULE
# library exporting zlr_optimizer_plugin_v1, see zerolr/plugin.h) with zerolr-audit. The test
# fails when the audit finds a violation (exit 1) or cannot use the plug-in (exit 2); the JSON
# report is written next to the test's build files as NAME.json.
#
# Works in zerolr's own tree (target zerolr-audit) and in a consumer's after
# find_package(zerolr) (imported target zerolr::zerolr-audit).
function(zerolr_add_optimizer_audit name plugin_target)
  cmake_parse_arguments(ARG "" "CASES;SEED" "LABELS" ${ARGN})
  if(NOT ARG_CASES)
    set(ARG_CASES 200)
  endif()
  if(NOT ARG_SEED)
    set(ARG_SEED 1)
  endif()
  if(TARGET zerolr-audit)
    set(audit $<TARGET_FILE:zerolr-audit>)
  elseif(TARGET zerolr::zerolr-audit)
    set(audit $<TARGET_FILE:zerolr::zerolr-audit>)
  else()
    message(FATAL_ERROR "zerolr_add_optimizer_audit: no zerolr-audit executable (build zerolr's tools)")
  endif()
  add_test(NAME ${name}
           COMMAND ${audit} --plugin $<TARGET_FILE:${plugin_target}> --cases ${ARG_CASES} --seed ${ARG_SEED}
                   --json ${CMAKE_CURRENT_BINARY_DIR}/${name}.json)
  set_tests_properties(${name} PROPERTIES LABELS "audit;${ARG_LABELS}")
endfunction()
