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
    if (!glx) {
        XCloseDisplay(display);
        return std::string("X display '") + name + "' has no GLX (OpenGL) extension";
    }
    // Keep this connection open until the program ends. An X server resets when its last client
    // disconnects, and a connection attempted during the reset fails: VTK's own XOpenDisplay for the next
    // window then aborts the process ("bad X server connection"). Xvfb under xvfb-run does reset (no
    // -noreset), so closing here made about one run in three abort. Held connections are closed by exit.
    static Display* held = nullptr;
    if (held == nullptr)
        held = display;
    else
        XCloseDisplay(display);
    return "";
}

} // namespace ketaplast::viz
