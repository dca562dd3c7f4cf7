#include "viz/display.hpp"

#include <X11/Xlib.h>

#include <cstdlib>

namespace ketaplast::viz {

std::string display_problem() {
    const char* name = std::getenv("DISPLAY");
    if (name == nullptr || *name == '\0') return "DISPLAY is not set (no X server)";
    Display* display = XOpenDisplay(name);
    if (display == nullptr) return std::string("cannot open X display '") + name + "'";
    int opcode = 0, event = 0, error = 0;
    const bool glx = XQueryExtension(display, "GLX", &opcode, &event, &error);
    XCloseDisplay(display);
    if (!glx) return std::string("X display '") + name + "' has no GLX (OpenGL) extension";
    return "";
}

} // namespace ketaplast::viz
