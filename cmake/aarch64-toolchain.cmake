# Cross compilation for aarch64 Linux with Debian's cross toolchain (g++-aarch64-linux-gnu, whose sysroot is
# /usr/aarch64-linux-gnu). Executables run under qemu-user: CMAKE_CROSSCOMPILING_EMULATOR makes ctest (and
# add_test commands naming a target) prefix them with `qemu-aarch64 -L /usr/aarch64-linux-gnu`.
# Used by scripts/cross-aarch64.sh; usable directly with -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-toolchain.cmake.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(POCKET_CROSS_TRIPLE aarch64-linux-gnu)
set(POCKET_CROSS_SYSROOT /usr/${POCKET_CROSS_TRIPLE})
set(CMAKE_C_COMPILER ${POCKET_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${POCKET_CROSS_TRIPLE}-g++)
set(CMAKE_ASM_COMPILER ${POCKET_CROSS_TRIPLE}-gcc)

# Libraries and headers come from the cross sysroot only; programs (cmake helpers, ninja) from the host.
set(CMAKE_FIND_ROOT_PATH ${POCKET_CROSS_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

find_program(POCKET_QEMU_AARCH64 qemu-aarch64)
if(POCKET_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${POCKET_QEMU_AARCH64} -L ${POCKET_CROSS_SYSROOT})
endif()
