# us_embed_files(OUTPUT <file.cc> FILES <name=path>... HEADER <h> NAMESPACE <ns>
#                TYPE <struct> TABLE <array> COMMENT <text>)
# Generates OUTPUT at build time with cmake/embed_files.cmake: every file as a
# byte array and a table of {name, bytes, size}, as HEADER declares it.
# Editing one of the files rebuilds OUTPUT.
function(us_embed_files)
  cmake_parse_arguments(E "" "OUTPUT;HEADER;NAMESPACE;TYPE;TABLE;COMMENT" "FILES" ${ARGN})
  set(deps)
  foreach(pair ${E_FILES})
    string(REGEX REPLACE "^[^=]*=" "" path "${pair}")
    list(APPEND deps "${path}")
  endforeach()
  set(list_file ${E_OUTPUT}.list)
  file(WRITE ${list_file} "${E_FILES}")
  add_custom_command(
    OUTPUT ${E_OUTPUT}
    COMMAND ${CMAKE_COMMAND} -DLIST_FILE=${list_file} -DOUTPUT=${E_OUTPUT}
            -DHEADER=${E_HEADER} -DNAMESPACE=${E_NAMESPACE} -DTYPE=${E_TYPE}
            -DTABLE=${E_TABLE} -P ${PROJECT_SOURCE_DIR}/cmake/embed_files.cmake
    DEPENDS ${deps} ${PROJECT_SOURCE_DIR}/cmake/embed_files.cmake
    COMMENT "${E_COMMENT}"
    VERBATIM)
endfunction()
