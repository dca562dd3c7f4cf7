// Can VTK render here? Debian's VTK 9.1 renders only through X (GLX; no OSMesa or EGL build), and a
// render window without an X server aborts the process. So the X connection is probed first, with Xlib,
// before any VTK window exists (STYLE.md, "Debian 12 facts").
#pragma once

#include <string>

namespace ketaplast::viz {

// "" when an X display with the GLX extension can be opened; otherwise the reason, for the message.
std::string display_problem();

} // namespace ketaplast::viz
