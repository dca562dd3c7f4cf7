#include "viz/plots.hpp"

#include <vtkAxis.h>
#include <vtkBrush.h>
#include <vtkChartLegend.h>
#include <vtkChartMatrix.h>
#include <vtkChartXY.h>
#include <vtkContextScene.h>
#include <vtkContextView.h>
#include <vtkDoubleArray.h>
#include <vtkPen.h>
#include <vtkPlot.h>
#include <vtkPlotPoints.h>
#include <vtkRenderWindow.h>
#include <vtkRenderer.h>
#include <vtkTable.h>
#include <vtkTextProperty.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace ketaplast::viz {

namespace fs = std::filesystem;

std::vector<std::size_t> histogram(const std::vector<float>& values, double lo, double hi, std::size_t bins) {
    std::vector<std::size_t> counts(bins, 0);
    if (bins == 0) return counts;
    const double width = hi > lo ? (hi - lo) / double(bins) : 1.0;
    for (float v : values) {
        if (v < lo || v > hi) continue;
        const auto k = std::size_t((v - lo) / width);
        ++counts[std::min(k, bins - 1)];
    }
    return counts;
}

std::vector<double> average_groups(const std::vector<double>& values, std::size_t group) {
    std::vector<double> out;
    group = std::max<std::size_t>(1, group);
    for (std::size_t start = 0; start < values.size(); start += group) {
        const std::size_t end = std::min(values.size(), start + group);
        double sum = 0;
        for (std::size_t k = start; k < end; ++k)
            sum += values[k];
        out.push_back(sum / double(end - start));
    }
    return out;
}

namespace {

// A line (or points) plot of y against x on `chart`; both copied into a table the plot keeps.
vtkPlot* add_plot(vtkChart* chart, int type, const std::vector<double>& x, const std::vector<double>& y,
                  const std::string& label, std::array<double, 3> colour, float width = 2.0f) {
    auto table = vtkSmartPointer<vtkTable>::New();
    auto x_column = vtkSmartPointer<vtkDoubleArray>::New();
    x_column->SetName("x");
    auto y_column = vtkSmartPointer<vtkDoubleArray>::New();
    y_column->SetName(label.c_str());
    const std::size_t n = std::min(x.size(), y.size());
    x_column->SetNumberOfTuples(vtkIdType(n));
    y_column->SetNumberOfTuples(vtkIdType(n));
    for (std::size_t k = 0; k < n; ++k) {
        x_column->SetValue(vtkIdType(k), x[k]);
        y_column->SetValue(vtkIdType(k), y[k]);
    }
    table->AddColumn(x_column);
    table->AddColumn(y_column);
    vtkPlot* plot = chart->AddPlot(type);
    plot->SetInputData(table, 0, 1);
    plot->SetLabel(label);
    plot->SetColor(colour[0], colour[1], colour[2]);
    plot->SetWidth(width);
    return plot;
}

// Title (bold) and axis titles of a chart, in sizes readable on a projector: axis titles 3 pt and tick
// labels 5 pt smaller than the title.
void style_chart(vtkChartXY* chart, const std::string& title, const std::string& x_title,
                 const std::string& y_title, int title_pt) {
    chart->SetTitle(title);
    chart->GetTitleProperties()->SetFontSize(title_pt);
    chart->GetTitleProperties()->SetBold(true);
    chart->GetAxis(vtkAxis::BOTTOM)->SetTitle(x_title);
    chart->GetAxis(vtkAxis::LEFT)->SetTitle(y_title);
    for (int axis : {vtkAxis::BOTTOM, vtkAxis::LEFT}) {
        chart->GetAxis(axis)->GetTitleProperties()->SetFontSize(title_pt - 3);
        chart->GetAxis(axis)->GetLabelProperties()->SetFontSize(title_pt - 5);
    }
}

class Chart {
  public:
    Chart(const std::string& title, const std::string& x_title, const std::string& y_title) {
        view_->GetRenderer()->SetBackground(1.0, 1.0, 1.0);
        view_->GetScene()->AddItem(chart_);
        style_chart(chart_, title, x_title, y_title, 18);
    }
    vtkChartXY* chart() { return chart_; }

    vtkPlot* add(int type, const std::vector<double>& x, const std::vector<double>& y,
                 const std::string& label, std::array<double, 3> colour, float width = 2.0f) {
        return add_plot(chart_, type, x, y, label, colour, width);
    }

    void fix_range(int axis, double lo, double hi) {
        chart_->GetAxis(axis)->SetRange(lo, hi);
        chart_->GetAxis(axis)->SetBehavior(vtkAxis::FIXED);
    }

    void legend(bool show) {
        chart_->SetShowLegend(show);
        if (show) chart_->GetLegend()->GetLabelProperties()->SetFontSize(14);
    }

    void save(const fs::path& path, int width_px, int height_px) {
        view_->GetRenderWindow()->SetSize(width_px, height_px);
        view_->GetRenderWindow()->SetOffScreenRendering(1);
        save_png(view_->GetRenderWindow(), path);
    }

  private:
    vtkNew<vtkContextView> view_;
    vtkNew<vtkChartXY> chart_;
};

std::vector<double> scaled(const std::vector<double>& v, double divisor) {
    std::vector<double> out(v.size());
    for (std::size_t k = 0; k < v.size(); ++k)
        out[k] = v[k] / divisor;
    return out;
}

// Drugs take the colours after the populations' (population k has colour k everywhere).
std::size_t first_drug_colour(const RunData& run) {
    return run.nodes.size();
}

std::string time_axis(const TimeUnit& unit) {
    return "time (" + unit.name + ")";
}

Picture plot_raster(const RunData& run, const fs::path& out_dir, const PlotOptions& o, const TimeUnit& unit) {
    Chart chart("Spike raster", time_axis(unit), "neuron (by population)");
    const std::size_t total = std::max<std::size_t>(1, run.point_count());
    double row0 = 0;
    std::size_t shown_total = 0;
    for (std::size_t p = 0; p < run.nodes.size(); ++p) {
        const NodePopulation& n = run.nodes[p];
        // Each population keeps a share of the rows proportional to its size (at least one row).
        const std::size_t shown = std::min(
            n.size(), std::max<std::size_t>(1, std::size_t(std::ceil(double(o.max_raster_neurons) *
                                                                     double(n.size()) / double(total)))));
        std::vector<double> x, y;
        for (std::size_t k = 0; k < n.spike_ids.size(); ++k)
            if (n.spike_ids[k] < shown) {
                x.push_back(n.spike_times_ms[k] / unit.ms_per_unit);
                y.push_back(row0 + double(n.spike_ids[k]));
            }
        std::string label = n.name;
        if (shown < n.size()) label += " (" + std::to_string(shown) + " of " + std::to_string(n.size()) + ")";
        if (!x.empty()) {
            auto* points =
                vtkPlotPoints::SafeDownCast(chart.add(vtkChart::POINTS, x, y, label, category_colour(p)));
            points->SetMarkerStyle(vtkPlotPoints::CIRCLE);
            // Smaller dots when they would merge: above ~150 spikes per row (one per 6 px of a 1000 px plot).
            const double per_row = double(n.spike_ids.size()) / double(std::max<std::size_t>(1, n.size()));
            points->SetMarkerSize(per_row * 1000.0 / double(o.width_px) > 150 ? 2.0f : 3.0f);
        }
        row0 += double(shown);
        shown_total += shown;
    }
    chart.fix_range(vtkAxis::BOTTOM, 0.0, run.simulated_ms / unit.ms_per_unit);
    chart.fix_range(vtkAxis::LEFT, 0.0, std::max(1.0, row0));
    chart.legend(true);
    chart.save(out_dir / "raster.png", o.width_px, o.height_px);
    std::string caption =
        "Each dot is one spike: time on the horizontal axis, one row per neuron, populations "
        "stacked and coloured as in the network picture.";
    if (shown_total < run.point_count())
        caption += " For legibility the first " + std::to_string(shown_total) + " of " +
                   std::to_string(run.point_count()) + " neurons are shown, a share of each population.";
    return {"raster.png", "Spike raster", caption};
}

Picture plot_rates(const RunData& run, const fs::path& out_dir, const PlotOptions& o, const TimeUnit& unit) {
    Chart chart("Population firing rates", time_axis(unit), "rate (Hz per neuron)");
    const std::size_t n_bins = run.rate_time_ms.size();
    const std::size_t group = std::max<std::size_t>(1, (n_bins + o.max_rate_points - 1) / o.max_rate_points);
    // Averaged bins are plotted at their centre.
    std::vector<double> t = average_groups(run.rate_time_ms, group);
    const double shift = 0.5 * run.rate_bin_ms;
    for (double& v : t)
        v = (v + shift) / unit.ms_per_unit;
    for (std::size_t p = 0; p < run.population_rate_Hz.size(); ++p) {
        const auto& [name, rate] = run.population_rate_Hz[p];
        std::size_t colour = p;
        for (std::size_t k = 0; k < run.nodes.size(); ++k)
            if (run.nodes[k].name == name) colour = k;
        chart.add(vtkChart::LINE, t, average_groups(rate, group), name, category_colour(colour));
    }
    chart.fix_range(vtkAxis::BOTTOM, 0.0, run.simulated_ms / unit.ms_per_unit);
    chart.legend(true);
    chart.save(out_dir / "rates.png", o.width_px, o.height_px);
    const double bin = run.rate_bin_ms * double(group);
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%g", bin);
    return {"rates.png", "Population firing rates",
            std::string("Mean firing rate per neuron of each population in bins of ") + buffer +
                " ms (timeseries.h5 /population_rate_Hz, averaged over groups of bins)."};
}

// A series' group below its top group, as a legend label ("nmda/PV/NMDA" -> "PV/NMDA"). Drug groups are
// "drugs/<i>_<agent>" (docs/output.md): the label is the agent's name ("ketamine", not "0_ketamine").
std::string sub_path(const Series& s) {
    const auto slash = s.group.find('/');
    if (slash == std::string::npos) return s.group;
    std::string rest = s.group.substr(slash + 1);
    if (s.group.compare(0, slash, "drugs") == 0) {
        const auto digits = rest.find_first_not_of("0123456789");
        if (digits != 0 && digits != std::string::npos && rest[digits] == '_') rest.erase(0, digits + 1);
    }
    return rest;
}

Picture plot_lines(const std::vector<const Series*>& series, const std::string& file,
                   const std::string& title, const std::string& y_title, const std::string& caption,
                   bool fraction, const RunData& run, const fs::path& out_dir, const PlotOptions& o,
                   const TimeUnit& unit, bool with_name = false, std::size_t first_colour = 0) {
    Chart chart(title, time_axis(unit), y_title);
    std::size_t colour = first_colour;
    for (const Series* s : series) {
        std::string label = sub_path(*s);
        if (with_name) label += (label.empty() ? "" : " ") + s->name;
        if (with_name && !s->units.empty()) label += " (" + s->units + ")";
        chart.add(vtkChart::LINE, scaled(s->time_ms, unit.ms_per_unit), s->values, label,
                  category_colour(colour++));
    }
    chart.fix_range(vtkAxis::BOTTOM, 0.0, run.time_axis_end_ms() / unit.ms_per_unit);
    if (fraction) chart.fix_range(vtkAxis::LEFT, 0.0, 1.0);
    chart.legend(true);
    chart.save(out_dir / file, o.width_px, o.height_px);
    return {file, title, caption};
}

// One panel of a stacked picture (story, week): titled, legend on, fonts readable on a projector. Row 0 is
// the bottom panel and the only one whose time axis carries a title.
vtkChartXY* panel(vtkChartMatrix* matrix, int row, const std::string& title, const std::string& y_title,
                  const std::string& x_title) {
    auto* chart = vtkChartXY::SafeDownCast(matrix->GetChart(vtkVector2i(0, row)));
    style_chart(chart, title, x_title, y_title, 17);
    chart->SetShowLegend(true);
    chart->GetLegend()->GetLabelProperties()->SetFontSize(13);
    return chart;
}

// The ketamine story in one picture (README, reports): drug at the receptors (top), NMDA channels blocked
// per pool (middle) and the population rates (bottom), on one time axis. Only for runs with drugs.
Picture plot_story(const RunData& run, const fs::path& out_dir, const PlotOptions& o, const TimeUnit& unit) {
    vtkNew<vtkContextView> view;
    view->GetRenderer()->SetBackground(1.0, 1.0, 1.0);
    vtkNew<vtkChartMatrix> matrix;
    view->GetScene()->AddItem(matrix);
    matrix->SetSize(vtkVector2i(1, 3));
    matrix->SetGutter(vtkVector2f(30.0f, 40.0f));
    matrix->SetBorders(80, 60, 30, 40);
    const double end = run.simulated_ms / unit.ms_per_unit;
    auto setup = [&](int row, const std::string& title, const std::string& y_title) {
        vtkChartXY* chart = panel(matrix, row, title, y_title, row == 0 ? time_axis(unit) : "");
        chart->GetAxis(vtkAxis::BOTTOM)->SetRange(0.0, end);
        chart->GetAxis(vtkAxis::BOTTOM)->SetBehavior(vtkAxis::FIXED);
        return chart;
    };
    vtkChartXY* drug = setup(2, "1. The drug reaches the receptors", "free conc. (uM)");
    std::size_t colour = first_drug_colour(run);
    for (const Series* s : run.find_series("drugs/", "free_uM"))
        add_plot(drug, vtkChart::LINE, scaled(s->time_ms, unit.ms_per_unit), s->values, sub_path(*s),
                 category_colour(colour++));
    vtkChartXY* block = setup(1, "2. It blocks NMDA channels (per population's pool)", "fraction blocked");
    block->GetAxis(vtkAxis::LEFT)->SetRange(0.0, 1.0);
    block->GetAxis(vtkAxis::LEFT)->SetBehavior(vtkAxis::FIXED);
    for (const Series* s : run.find_series("nmda/", "drug_blocked_fraction")) {
        const std::string population = sub_path(*s).substr(0, sub_path(*s).find('/'));
        std::size_t c = 0;
        for (std::size_t k = 0; k < run.nodes.size(); ++k)
            if (run.nodes[k].name == population) c = k;
        add_plot(block, vtkChart::LINE, scaled(s->time_ms, unit.ms_per_unit), s->values, sub_path(*s),
                 category_colour(c));
    }
    vtkChartXY* rates = setup(0, "3. Firing rates: what the network does", "rate (Hz)");
    const std::size_t n_bins = run.rate_time_ms.size();
    const std::size_t group = std::max<std::size_t>(1, (n_bins + o.max_rate_points - 1) / o.max_rate_points);
    std::vector<double> t = average_groups(run.rate_time_ms, group);
    for (double& v : t)
        v = (v + 0.5 * run.rate_bin_ms) / unit.ms_per_unit;
    for (const auto& [name, rate] : run.population_rate_Hz) {
        std::size_t c = 0;
        for (std::size_t k = 0; k < run.nodes.size(); ++k)
            if (run.nodes[k].name == name) c = k;
        add_plot(rates, vtkChart::LINE, t, average_groups(rate, group), name, category_colour(c));
    }
    view->GetRenderWindow()->SetSize(o.width_px, 3 * o.height_px * 2 / 3);
    view->GetRenderWindow()->SetOffScreenRendering(1);
    save_png(view->GetRenderWindow(), out_dir / "story.png");
    return {
        "story.png", "The story at a glance",
        "Top: free drug concentration at the receptors. Middle: fraction of NMDA channels held by the drug "
        "in each population's receptor pool. Bottom: mean firing rate per neuron of each population."};
}

// A [protocol] run in one picture: from the dose (hours) to the synapses (days), on a logarithmic time axis
// so the onset within hours and the week after both show. Rows (top to bottom): drug and NMDA block at rest;
// slow signalling relative to baseline; E->E strength and synapse count relative to baseline; the driving
// population's rate. Data: timeseries.h5 /drugs (protocol time) and slow.h5 (docs/slow_layer.md).
Picture plot_week(const RunData& run, const fs::path& out_dir, const PlotOptions& o) {
    vtkNew<vtkContextView> view;
    view->GetRenderer()->SetBackground(1.0, 1.0, 1.0);
    vtkNew<vtkChartMatrix> matrix;
    view->GetScene()->AddItem(matrix);
    matrix->SetSize(vtkVector2i(1, 4));
    matrix->SetGutter(vtkVector2f(30.0f, 40.0f));
    matrix->SetBorders(80, 60, 30, 40);
    // Log axis from 3 min: the baseline window (t = 0) is drawn there.
    const double t0_h = 0.05, end_h = std::max(run.protocol_ms / 3.6e6, 2.0 * t0_h);
    auto hours = [&](const std::vector<double>& time_ms) {
        std::vector<double> h(time_ms.size());
        for (std::size_t k = 0; k < h.size(); ++k)
            h[k] = std::max(t0_h, time_ms[k] / 3.6e6);
        return h;
    };
    auto setup = [&](int row, const std::string& title, const std::string& y_title) {
        vtkChartXY* chart =
            panel(matrix, row, title, y_title,
                  row == 0 ? "time after the start (hours, logarithmic; baseline at the left edge)" : "");
        // Below the dose panel every curve starts at its baseline on the left and moves later: the top-left
        // corner is free, whereas a top-right legend hid the rising strength curve (seen in the test's band
        // count). The drug rises from zero within the first hour and is low again at the right.
        chart->GetLegend()->SetHorizontalAlignment(row == 3 ? vtkChartLegend::RIGHT : vtkChartLegend::LEFT);
        chart->GetLegend()->SetVerticalAlignment(vtkChartLegend::TOP);
        vtkAxis* x = chart->GetAxis(vtkAxis::BOTTOM);
        x->SetLogScale(true);
        x->SetRange(t0_h, end_h);
        x->SetBehavior(vtkAxis::FIXED);
        return chart;
    };
    auto line = [&](vtkChartXY* chart, const Series* s, const std::string& label, std::size_t colour,
                    double divisor = 1.0, bool complement = false) {
        if (!s) return;
        std::vector<double> y(s->values.size());
        for (std::size_t k = 0; k < y.size(); ++k)
            y[k] = (complement ? 1.0 - s->values[k] : s->values[k]) / divisor;
        add_plot(chart, vtkChart::LINE, hours(s->time_ms), y, label, category_colour(colour));
    };
    vtkChartXY* drug =
        setup(3, "1. The dose: drug at the receptors, NMDA channels blocked at rest", "uM / fraction");
    std::size_t colour = first_drug_colour(run);
    for (const Series* s : run.find_series("drugs/", "free_uM"))
        line(drug, s, sub_path(*s) + " (uM free)", colour++);
    line(drug, run.slow_series("nmda_unblocked_fraction"), "NMDA pool blocked (fraction)", colour++, 1.0,
         true);
    vtkChartXY* signal = setup(2, "2. Signalling, relative to baseline", "x baseline");
    const Series* mTOR = run.slow_series("mTOR");
    line(signal, run.slow_series("BDNF"), "BDNF", 0);
    line(signal, mTOR, "mTOR", 1,
         mTOR && !mTOR->values.empty() && mTOR->values[0] > 0 ? mTOR->values[0] : 1.0);
    line(signal, run.slow_series("protein"), "synaptic protein", 2);
    vtkChartXY* synapses = setup(1, "3. Synapses onto the population, relative to baseline", "x baseline");
    line(synapses, run.slow_series("total_weight_relative"), "summed E->E strength", 3);
    line(synapses, run.slow_series("spine_factor"), "E->E synapse count", 4);
    line(synapses, run.slow_series("strength_factor"), "strength per synapse", 5);
    if (const Series* inh = run.slow_series("inhibitory_factor");
        inh && std::any_of(inh->values.begin(), inh->values.end(), [](double v) { return v != 1.0; }))
        line(synapses, inh, "inhibitory synapses (homeostatic)", 6);
    vtkChartXY* rate = setup(0, "4. Firing rate of the population in the spiking windows", "rate (Hz)");
    line(rate, run.slow_series("rate_Hz"), "rate", 7);
    view->GetRenderWindow()->SetSize(o.width_px, 4 * o.height_px * 2 / 3);
    view->GetRenderWindow()->SetOffScreenRendering(1);
    save_png(view->GetRenderWindow(), out_dir / "week.png");
    return {"week.png", "From the dose to the synapses: the protocol at a glance",
            "A multi-time-scale protocol (docs/slow_layer.md), time on a logarithmic axis. 1: free drug "
            "concentration and the fraction of the population's NMDA pool blocked by it (the rest signal). "
            "2: BDNF, mTOR and synaptic protein of the slow layer, relative to baseline. 3: the written-back "
            "E->E synapses: summed strength, synapse count, strength per synapse (and the inhibitory "
            "synapses' homeostatic factor). 4: the population's rate in each spiking window (slow.h5)."};
}

std::vector<Picture> plot_weights(const RunData& run, const fs::path& out_dir, const PlotOptions& o) {
    std::vector<Picture> pictures;
    std::vector<std::size_t> order(run.edges.size());
    for (std::size_t p = 0; p < order.size(); ++p)
        order[p] = p;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return run.edges[a].size() > run.edges[b].size(); });
    if (order.size() > o.max_weight_plots) order.resize(o.max_weight_plots);
    const WeightFrame& first = run.frames.front();
    const WeightFrame& last = run.frames.back();
    const bool two = run.frames.size() >= 2;
    for (std::size_t p : order) {
        const EdgePopulation& e = run.edges[p];
        if (e.size() == 0) continue;
        const std::vector<float>& w0 = first.weights[p];
        const std::vector<float>& w1 = last.weights[p];
        double lo = *std::min_element(w0.begin(), w0.end()), hi = *std::max_element(w0.begin(), w0.end());
        if (two) {
            lo = std::min<double>(lo, *std::min_element(w1.begin(), w1.end()));
            hi = std::max<double>(hi, *std::max_element(w1.begin(), w1.end()));
        }
        if (hi - lo < 1e-6 * std::max(1.0, std::abs(hi))) { // all equal: one bar around the value
            lo -= 0.5 * std::max(1e-3, std::abs(lo) * 0.1);
            hi += 0.5 * std::max(1e-3, std::abs(hi) * 0.1);
        }
        const std::size_t bins = o.histogram_bins;
        const double width = (hi - lo) / double(bins);
        std::vector<double> centre(bins);
        for (std::size_t k = 0; k < bins; ++k)
            centre[k] = lo + (double(k) + 0.5) * width;
        auto to_double = [](const std::vector<std::size_t>& c) {
            return std::vector<double>(c.begin(), c.end());
        };
        const std::string units = e.weight_units.empty() ? "" : " (" + e.weight_units + ")";
        Chart chart("Weights of " + e.name + " (" + e.source_population + " -> " + e.target_population + ")",
                    "weight" + units, "synapses");
        // Protocol snapshots are labelled in protocol hours, the others in ms of simulated time.
        const std::string label0 =
            "t = " + run.time_text(first.time_ms) + (two ? " (baseline)" : " (end of run)");
        const std::string label1 = "t = " + run.time_text(last.time_ms);
        vtkPlot* bar0 = chart.add(vtkChart::BAR, centre, to_double(histogram(w0, lo, hi, bins)), label0,
                                  {0.55, 0.55, 0.55});
        bar0->GetBrush()->SetOpacityF(two ? 0.6 : 1.0);
        if (two)
            chart.add(vtkChart::BAR, centre, to_double(histogram(w1, lo, hi, bins)), label1, kStrengthened);
        chart.chart()->SetBarWidthFraction(0.9f);
        chart.legend(true);
        const std::string file = "weights_" + e.name + ".png";
        chart.save(out_dir / file, o.width_px, o.height_px);
        std::string caption = two ? "Histogram of the synaptic weights of projection " + e.name +
                                        " at the first weight frame (grey) and the last (red)."
                                  : "Histogram of the synaptic weights of projection " + e.name +
                                        " at the end of the run (one weight frame: no snapshots recorded).";
        if (run.is_protocol())
            caption +=
                " Protocol time; weight 0 marks potential synapses switched off by the structural rule.";
        pictures.push_back({file, "Weight distribution: " + e.name, caption});
    }
    return pictures;
}

} // namespace

std::vector<Picture> render_plots(const RunData& run, const fs::path& out_dir, const PlotOptions& o) {
    std::vector<Picture> pictures;
    const TimeUnit unit = time_unit_for(run.time_axis_end_ms());
    // A protocol's spikes and rates are in engine time (its windows concatenated), which no protocol-time
    // axis can show: its picture is the week instead of the story, raster and rates.
    if (run.is_protocol()) {
        pictures.push_back(plot_week(run, out_dir, o));
    } else {
        if (!run.find_series("drugs/", "free_uM").empty() && !run.population_rate_Hz.empty())
            pictures.push_back(plot_story(run, out_dir, o, unit));
        if (run.has_spikes) pictures.push_back(plot_raster(run, out_dir, o, unit));
        if (!run.population_rate_Hz.empty() && !run.rate_time_ms.empty())
            pictures.push_back(plot_rates(run, out_dir, o, unit));
    }
    if (auto drugs = run.find_series("drugs/", "free_uM"); !drugs.empty())
        pictures.push_back(plot_lines(drugs, "drugs.png", "Drug concentration at the receptors",
                                      "free concentration (uM)",
                                      "Free concentration of each drug species at the NMDA receptors "
                                      "(timeseries.h5 /drugs/<species>/free_uM).",
                                      false, run, out_dir, o, unit, false, first_drug_colour(run)));
    if (auto block = run.find_series("nmda/", "drug_blocked_fraction"); !block.empty())
        pictures.push_back(plot_lines(
            block, "nmda_block.png", "NMDA receptors blocked by the drug", "fraction of channels blocked",
            "Population mean fraction of NMDA channels held by a drug, per population and "
            "receptor pool (timeseries.h5 /nmda/<population>/<receptor>/drug_blocked_fraction).",
            true, run, out_dir, o, unit));
    if (auto conducting = run.find_series("nmda/", "conducting_fraction"); !conducting.empty())
        pictures.push_back(
            plot_lines(conducting, "nmda_conducting.png", "NMDA receptors free to conduct",
                       "fraction free of drug and Mg2+",
                       "Population mean fraction of NMDA channels free of both the drug and Mg2+ "
                       "(timeseries.h5 /nmda/<population>/<receptor>/conducting_fraction).",
                       true, run, out_dir, o, unit));
    // Any other group with time series (glutamate, AMPA activation, ... added by other modules): one plot
    // per top-level group, one line per dataset.
    std::map<std::string, std::vector<const Series*>> others;
    for (const Series& s : run.series) {
        const std::string top = s.group.substr(0, s.group.find('/'));
        // (In a protocol only the drug and NMDA series are in protocol time.)
        if (top != "drugs" && top != "nmda" && !run.is_protocol()) others[top].push_back(&s);
    }
    for (const auto& [top, series] : others) {
        std::vector<const Series*> shown(
            series.begin(), series.begin() + std::ptrdiff_t(std::min<std::size_t>(10, series.size())));
        pictures.push_back(
            plot_lines(shown, top + ".png", "Time series: " + top, "value",
                       "Every time series of timeseries.h5 /" + top + " (units in the legend).", false, run,
                       out_dir, o, unit, true));
    }
    if (!run.edges.empty()) {
        std::vector<Picture> weights = plot_weights(run, out_dir, o);
        pictures.insert(pictures.end(), weights.begin(), weights.end());
    }
    return pictures;
}

} // namespace ketaplast::viz
