# Helper functions shared by zerolr's CMake files.

# zerolr_set_warnings(TARGET): warnings go on targets, never on global flags.
function(zerolr_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  # GCC 12 reports -Wrestrict inside libstdc++'s operator+ on std::string at -O2 and above,
  # a known false positive (GCC bug 105329), fixed in GCC 13.
  target_compile_options(${target} PRIVATE
    $<$<AND:$<CXX_COMPILER_ID:GNU>,$<VERSION_LESS:$<CXX_COMPILER_VERSION>,13>>:-Wno-restrict>)
endfunction()

# zerolr_pin_fp(TARGET): the library's results must not change with -march, so
# floating-point contraction into FMA is off on every target that computes.
function(zerolr_pin_fp target)
  target_compile_options(${target} PRIVATE -ffp-contract=off)
  if(ZEROLR_NATIVE)
    target_compile_options(${target} PRIVATE -march=native)
  endif()
endfunction()
