// Anchor of the plugins' shared precompiled header (core/CMakeLists.txt).
