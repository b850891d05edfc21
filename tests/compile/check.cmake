# Compiles SRC with -DVARIANT=${VARIANT} as a C11 program would be built by
# a user (-std=c11 -pedantic-errors; with -DSTD=c++17 and CC a C++
# compiler, as a C++17 one) and checks the outcome:
#   EXPECT=ok     it must compile;
#   EXPECT=<re>   it must fail, with a diagnostic matching the regex <re>
#                 (so that a failure for an unrelated reason does not pass).
# Usage: cmake -DCC=cc -DSRC=f.c -DINC=include -DVARIANT=N -DEXPECT=... -P check.cmake
if(NOT DEFINED STD)
    set(STD c11)
endif()
execute_process(
    COMMAND ${CC} -std=${STD} -pedantic-errors -Wall -fsyntax-only -I${INC} -DVARIANT=${VARIANT} ${SRC}
    RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
if(EXPECT STREQUAL "ok")
    if(NOT _rc EQUAL 0)
        message(FATAL_ERROR "variant ${VARIANT} should compile:\n${_err}")
    endif()
else()
    if(_rc EQUAL 0)
        message(FATAL_ERROR "variant ${VARIANT} compiled, but must not")
    endif()
    if(NOT _err MATCHES "${EXPECT}")
        message(FATAL_ERROR "variant ${VARIANT} failed without the expected '${EXPECT}':\n${_err}")
    endif()
    message(STATUS "variant ${VARIANT} rejected as expected")
endif()
