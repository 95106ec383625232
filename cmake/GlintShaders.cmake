# Compiles kernels/*.comp to SPIR-V (glslc), optimises (spirv-opt -O), validates (spirv-val) and embeds each
# variant as a generated .cpp that registers itself with the shader registry.
#
# Variants are declared at the top of each shader, one per line:
#   // variant: unary_f16 DT_F16 ACC=float
# A shader without variant lines builds once under its file name. Keeping the list beside the code it configures
# means adding a kernel never edits a shared file.
set(GLINT_SPIRV_ENV vulkan1.2)

function(glint_compile_shaders out_var kernel_dir)
  file(GLOB shaders CONFIGURE_DEPENDS ${kernel_dir}/*.comp)
  # Every shader depends on every shared header: simple, and the headers change rarely.
  file(GLOB common_headers CONFIGURE_DEPENDS ${kernel_dir}/common/*.glsl)
  set(generated)
  set(gen_dir ${CMAKE_CURRENT_BINARY_DIR}/shaders)
  file(MAKE_DIRECTORY ${gen_dir})
  foreach(src ${shaders})
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${src})
    get_filename_component(stem ${src} NAME_WE)
    file(STRINGS ${src} variant_lines REGEX "^// variant:")
    if(NOT variant_lines)
      set(variant_lines "// variant: ${stem}")
    endif()
    foreach(line ${variant_lines})
      string(REGEX REPLACE "^// variant:[ ]*" "" spec "${line}")
      string(REPLACE " " ";" spec "${spec}")
      list(POP_FRONT spec name)
      set(defines)
      foreach(d ${spec})
        list(APPEND defines -D${d})
      endforeach()
      set(spv ${gen_dir}/${name}.spv)
      set(cpp ${gen_dir}/${name}.cpp)
      add_custom_command(
        OUTPUT ${cpp}
        COMMAND Vulkan::glslc --target-env=${GLINT_SPIRV_ENV} -fshader-stage=compute -I ${kernel_dir}/common
                ${defines} -o ${spv}.raw ${src}
        COMMAND ${SPIRV_OPT} -O --target-env=${GLINT_SPIRV_ENV} ${spv}.raw -o ${spv}
        COMMAND ${SPIRV_VAL} --target-env ${GLINT_SPIRV_ENV} ${spv}
        COMMAND ${CMAKE_COMMAND} -DNAME=${name} -DSPV=${spv} -DOUT=${cpp} -P ${PROJECT_SOURCE_DIR}/cmake/EmbedSpirv.cmake
        DEPENDS ${src} ${common_headers} ${PROJECT_SOURCE_DIR}/cmake/EmbedSpirv.cmake
        COMMENT "Compiling shader ${name}"
        VERBATIM)
      list(APPEND generated ${cpp})
    endforeach()
  endforeach()
  set(${out_var} ${generated} PARENT_SCOPE)
endfunction()
