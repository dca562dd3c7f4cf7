#include "viz/connectivity.hpp"

#include "core/error.hpp"

#include <vtkCellArray.h>
#include <vtkCellData.h>
#include <vtkFieldData.h>
#include <vtkFloatArray.h>
#include <vtkIntArray.h>
#include <vtkPointData.h>
#include <vtkPoints.h>
#include <vtkStringArray.h>
#include <vtkUnsignedLongLongArray.h>
#include <vtkXMLPolyDataWriter.h>

#include <cstdio>
#include <fstream>

namespace ketaplast::viz {

namespace fs = std::filesystem;

namespace {

vtkSmartPointer<vtkStringArray> names_array(const char* name, const std::vector<std::string>& values) {
    auto array = vtkSmartPointer<vtkStringArray>::New();
    array->SetName(name);
    for (const std::string& v : values)
        array->InsertNextValue(v);
    return array;
}

// Points, point data and field data shared by neurons.vtp and synapses_<k>.vtp.
vtkSmartPointer<vtkPolyData> points_of(const RunData& run) {
    auto data = vtkSmartPointer<vtkPolyData>::New();
    auto points = vtkSmartPointer<vtkPoints>::New();
    points->SetDataTypeToFloat();
    points->SetNumberOfPoints(vtkIdType(run.point_count()));
    auto population = vtkSmartPointer<vtkIntArray>::New();
    population->SetName("population");
    auto node_id = vtkSmartPointer<vtkUnsignedLongLongArray>::New();
    node_id->SetName("node_id");
    auto rate = vtkSmartPointer<vtkFloatArray>::New();
    rate->SetName("rate_Hz");
    for (auto* a : {static_cast<vtkDataArray*>(population), static_cast<vtkDataArray*>(node_id),
                    static_cast<vtkDataArray*>(rate)})
        a->SetNumberOfTuples(vtkIdType(run.point_count()));
    vtkIdType point = 0;
    std::vector<std::string> names;
    for (std::size_t p = 0; p < run.nodes.size(); ++p) {
        const NodePopulation& n = run.nodes[p];
        names.push_back(n.name);
        for (std::size_t i = 0; i < n.size(); ++i, ++point) {
            points->SetPoint(point, n.x_um[i], n.y_um[i], n.z_um[i]);
            population->SetValue(point, int(p));
            node_id->SetValue(point, i);
            rate->SetValue(point, float(n.rate_Hz[i]));
        }
    }
    data->SetPoints(points);
    data->GetPointData()->AddArray(population);
    data->GetPointData()->AddArray(node_id);
    data->GetPointData()->AddArray(rate);
    data->GetPointData()->SetActiveScalars("population");
    data->GetFieldData()->AddArray(names_array("population_names", names));
    return data;
}

} // namespace

vtkSmartPointer<vtkPolyData> make_neurons(const RunData& run) {
    vtkSmartPointer<vtkPolyData> data = points_of(run);
    auto verts = vtkSmartPointer<vtkCellArray>::New();
    for (vtkIdType k = 0; k < vtkIdType(run.point_count()); ++k)
        verts->InsertNextCell(1, &k);
    data->SetVerts(verts);
    return data;
}

std::vector<float> weight_change(const RunData& run) {
    std::vector<float> change;
    if (run.frames.size() < 2) return change;
    const WeightFrame& first = run.frames.front();
    const WeightFrame& last = run.frames.back();
    for (std::size_t p = 0; p < run.edges.size(); ++p)
        for (std::size_t k = 0; k < run.edges[p].size(); ++k)
            change.push_back(last.weights[p][k] - first.weights[p][k]);
    return change;
}

vtkSmartPointer<vtkPolyData> make_synapses(const RunData& run, std::size_t frame) {
    if (frame >= run.frames.size()) throw InputError("no weight frame " + std::to_string(frame));
    vtkSmartPointer<vtkPolyData> data = points_of(run);
    const std::vector<std::size_t> offsets = run.point_offsets();
    const vtkIdType n_edges = vtkIdType(run.edge_count());
    const bool with_change = run.frames.size() >= 2;
    auto lines = vtkSmartPointer<vtkCellArray>::New();
    lines->AllocateEstimate(n_edges, 2);
    auto projection = vtkSmartPointer<vtkIntArray>::New();
    projection->SetName("projection");
    auto weight = vtkSmartPointer<vtkFloatArray>::New();
    weight->SetName("weight");
    auto delay = vtkSmartPointer<vtkFloatArray>::New();
    delay->SetName("delay_ms");
    auto change = vtkSmartPointer<vtkFloatArray>::New();
    change->SetName("weight_change");
    for (auto* a : {static_cast<vtkDataArray*>(projection), static_cast<vtkDataArray*>(weight),
                    static_cast<vtkDataArray*>(delay)})
        a->SetNumberOfTuples(n_edges);
    if (with_change) change->SetNumberOfTuples(n_edges);
    std::vector<std::string> names;
    vtkIdType cell = 0;
    for (std::size_t p = 0; p < run.edges.size(); ++p) {
        const EdgePopulation& e = run.edges[p];
        names.push_back(e.name);
        const std::size_t src0 = offsets[run.node_index(e.source_population)];
        const std::size_t tgt0 = offsets[run.node_index(e.target_population)];
        const std::vector<float>& w = run.frames[frame].weights[p];
        const std::vector<float>& w0 = run.frames.front().weights[p];
        for (std::size_t k = 0; k < e.size(); ++k, ++cell) {
            const vtkIdType ends[2] = {vtkIdType(src0 + e.source_id[k]), vtkIdType(tgt0 + e.target_id[k])};
            lines->InsertNextCell(2, ends);
            projection->SetValue(cell, int(p));
            weight->SetValue(cell, w[k]);
            delay->SetValue(cell, e.delay_ms[k]);
            if (with_change) change->SetValue(cell, w[k] - w0[k]);
        }
    }
    data->SetLines(lines);
    data->GetCellData()->AddArray(projection);
    data->GetCellData()->AddArray(weight);
    data->GetCellData()->AddArray(delay);
    if (with_change) data->GetCellData()->AddArray(change);
    data->GetCellData()->SetActiveScalars("weight");
    data->GetFieldData()->AddArray(names_array("projection_names", names));
    std::vector<std::string> units;
    for (const EdgePopulation& e : run.edges)
        units.push_back(e.weight_units);
    data->GetFieldData()->AddArray(names_array("projection_weight_units", units));
    return data;
}

void write_vtp(vtkPolyData* data, const fs::path& path) {
    // Written under a temporary name and renamed, like the simulator's files (docs/output.md).
    const fs::path tmp = path.string() + ".tmp";
    auto writer = vtkSmartPointer<vtkXMLPolyDataWriter>::New();
    writer->SetFileName(tmp.c_str());
    writer->SetInputData(data);
    writer->SetDataModeToAppended();
    writer->SetCompressorTypeToZLib();
    if (writer->Write() != 1) {
        std::error_code ignored;
        fs::remove(tmp, ignored);
        throw RunError("cannot write " + path.string());
    }
    fs::rename(tmp, path);
}

std::vector<fs::path> write_connectivity(const RunData& run, const fs::path& out_dir) {
    std::vector<fs::path> written;
    write_vtp(make_neurons(run), out_dir / "neurons.vtp");
    written.push_back(out_dir / "neurons.vtp");
    std::vector<std::pair<double, std::string>> synapse_files;
    if (!run.edges.empty()) {
        for (std::size_t f = 0; f < run.frames.size(); ++f) {
            char name[48];
            std::snprintf(name, sizeof name, "synapses_%04zu.vtp", f);
            write_vtp(make_synapses(run, f), out_dir / name);
            written.push_back(out_dir / name);
            synapse_files.emplace_back(run.frames[f].time_ms, name);
        }
    }
    // ParaView Data (.pvd): a collection with one timestep per weight frame (time in ms), the neurons as
    // part 0 and that frame's synapses as part 1; ParaView opens it as a multiblock time series.
    const fs::path pvd = out_dir / "network.pvd";
    {
        std::ofstream out(pvd.string() + ".tmp");
        out << "<?xml version=\"1.0\"?>\n"
            << "<VTKFile type=\"Collection\" version=\"0.1\" byte_order=\"LittleEndian\">\n  <Collection>\n";
        if (synapse_files.empty()) {
            out << "    <DataSet timestep=\"" << run.simulated_ms << "\" part=\"0\" file=\"neurons.vtp\"/>\n";
        }
        for (const auto& [time_ms, file] : synapse_files) {
            out << "    <DataSet timestep=\"" << time_ms << "\" part=\"0\" file=\"neurons.vtp\"/>\n";
            out << "    <DataSet timestep=\"" << time_ms << "\" part=\"1\" file=\"" << file << "\"/>\n";
        }
        out << "  </Collection>\n</VTKFile>\n";
        if (!out) throw RunError("cannot write " + pvd.string());
    }
    fs::rename(pvd.string() + ".tmp", pvd);
    written.push_back(pvd);
    return written;
}

} // namespace ketaplast::viz
