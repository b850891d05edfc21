# Moves the runtime's code into a section of its own, gort_text, in each
# object file of the library (run by CMakeLists.txt before the library is
# linked; idempotent).  The linker then defines __start_gort_text and
# __stop_gort_text around it in the executable or libgort.so, and the
# preemption signal handler (src/preempt.c) tells the runtime's code from
# the user's by them: a goroutine is never preempted asynchronously inside
# the runtime.
#   cmake -DOBJCOPY=<objcopy> -DOBJS=<a.o;b.o;...> -P gort_text.cmake
set(_flags "alloc,load,readonly,code,contents")
foreach(_obj IN LISTS OBJS)
    execute_process(
        COMMAND ${OBJCOPY}
            --rename-section .text=gort_text,${_flags}
            --rename-section .text.unlikely=gort_text,${_flags}
            --rename-section .text.hot=gort_text,${_flags}
            --rename-section .text.startup=gort_text,${_flags}
            --rename-section .text.exit=gort_text,${_flags}
            ${_obj}
        RESULT_VARIABLE _r)
    if(NOT _r EQUAL 0)
        message(FATAL_ERROR "gort_text.cmake: ${OBJCOPY} failed on ${_obj}")
    endif()
endforeach()
