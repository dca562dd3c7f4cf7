#include "viz/png_output.hpp"

#include "core/error.hpp"

#include <vtkPNGWriter.h>
#include <vtkRenderWindow.h>
#include <vtkSmartPointer.h>
#include <vtkWindowToImageFilter.h>

namespace ketaplast::viz {

namespace fs = std::filesystem;

void save_png(vtkRenderWindow* window, const fs::path& path) {
    window->SetOffScreenRendering(1);
    window->Render();
    auto grab = vtkSmartPointer<vtkWindowToImageFilter>::New();
    grab->SetInput(window);
    grab->SetInputBufferTypeToRGB();
    grab->ReadFrontBufferOff();
    grab->Update();
    const fs::path tmp = path.string() + ".tmp";
    auto writer = vtkSmartPointer<vtkPNGWriter>::New();
    writer->SetFileName(tmp.c_str());
    writer->SetInputConnection(grab->GetOutputPort());
    writer->Write();
    std::error_code ec;
    if (!fs::exists(tmp, ec) || fs::file_size(tmp, ec) == 0) {
        fs::remove(tmp, ec);
        throw RunError("cannot write " + path.string());
    }
    fs::rename(tmp, path);
}

std::array<double, 3> category_colour(std::size_t index) {
    // ColorBrewer Dark2 (8 classes).
    static constexpr std::array<std::array<double, 3>, 8> dark2 = {{{27 / 255.0, 158 / 255.0, 119 / 255.0},
                                                                    {217 / 255.0, 95 / 255.0, 2 / 255.0},
                                                                    {117 / 255.0, 112 / 255.0, 179 / 255.0},
                                                                    {231 / 255.0, 41 / 255.0, 138 / 255.0},
                                                                    {102 / 255.0, 166 / 255.0, 30 / 255.0},
                                                                    {230 / 255.0, 171 / 255.0, 2 / 255.0},
                                                                    {166 / 255.0, 118 / 255.0, 29 / 255.0},
                                                                    {102 / 255.0, 102 / 255.0, 102 / 255.0}}};
    return dark2[index % dark2.size()];
}

} // namespace ketaplast::viz
