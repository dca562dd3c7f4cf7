# Every dependency is a Debian 12 package, found once here and wrapped in a target.
find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(tomlplusplus REQUIRED)
find_package(CLI11 REQUIRED)
find_package(fmt REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(Eigen3 3.4 REQUIRED NO_MODULE)

# Serial HDF5, chosen explicitly: with libhdf5-openmpi-dev also installed FindHDF5 can mix the two.
set(HDF5_PREFER_PARALLEL FALSE)
set(HDF5_NO_FIND_PACKAGE_CONFIG_FILE TRUE)
find_package(HDF5 REQUIRED COMPONENTS C)
add_library(ketaplast_hdf5 INTERFACE)
target_include_directories(ketaplast_hdf5 SYSTEM INTERFACE ${HDF5_C_INCLUDE_DIRS} ${HDF5_INCLUDE_DIRS})
target_link_libraries(ketaplast_hdf5 INTERFACE ${HDF5_C_LIBRARIES} ${HDF5_LIBRARIES})
target_compile_definitions(ketaplast_hdf5 INTERFACE ${HDF5_DEFINITIONS} ${HDF5_C_DEFINITIONS})

# MPI (OpenMPI's C API), only for -DKETAPLAST_WITH_MPI=ON. HDF5 stays the serial library above: the root
# rank writes the merged output files, so the parallel HDF5 of libhdf5-openmpi-dev is never needed.
if(KETAPLAST_WITH_MPI)
  find_package(MPI REQUIRED COMPONENTS C)
  find_program(KETAPLAST_MPIEXEC NAMES mpirun mpiexec REQUIRED)
endif()

# Random123 (Philox) is header-only: /usr/include/Random123.
find_path(RANDOM123_INCLUDE_DIR Random123/philox.h REQUIRED)
add_library(ketaplast_random123 INTERFACE)
target_include_directories(ketaplast_random123 SYSTEM INTERFACE ${RANDOM123_INCLUDE_DIR})

# libcsv (libcsv-dev): RFC 4180 reading and quoting for the sweep's point lists and tables.
find_path(CSV_INCLUDE_DIR csv.h REQUIRED)
find_library(CSV_LIBRARY csv REQUIRED)
add_library(ketaplast_csv INTERFACE)
target_include_directories(ketaplast_csv SYSTEM INTERFACE ${CSV_INCLUDE_DIR})
target_link_libraries(ketaplast_csv INTERFACE ${CSV_LIBRARY})

# ketaplast-viz only (viz/): Debian 12's VTK 9.1 (libvtk9-dev), whose CMake config needs the C language
# (enabled in the top level), and Xlib to probe for an X server before VTK opens a window.
if(KETAPLAST_WITH_VTK)
  find_package(VTK 9.1 REQUIRED COMPONENTS
    CommonCore CommonDataModel IOXML IOImage
    RenderingCore RenderingOpenGL2 RenderingFreeType InteractionStyle)
  find_package(X11 REQUIRED)
endif()

if(KETAPLAST_BUILD_TESTS)
  find_package(Catch2 2 REQUIRED)
endif()
