// Results tables over seeds, in the papers' format: one row per task (or dataset), one column per
// method, each cell "mean ± std" over the seeds that ran it. Used by `dipole report`; LibTorch-free.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dipole::report {

/// The score of one run (one seed) of one method on one task.
struct RunScore {
  std::string row;     ///< e.g. "walker stand"
  std::string column;  ///< e.g. "dipole ω=1"
  std::string seed;    ///< the run's trainer.seed, as text (duplicates are an error)
  double value = 0;
  /// Fraction of sampled action components at the action bounds in the evaluation that produced
  /// `value` (`dipole eval`'s clipped_fraction), when known.
  std::optional<double> clipped_fraction = std::nullopt;
};

/// All seeds of one (row, column) pair.
struct Cell {
  std::string row, column;
  std::vector<std::string> seeds;
  std::vector<double> values;  ///< in the order of `seeds`
  double mean = 0;
  double std = 0;  ///< population standard deviation (ddof = 0, NumPy's default); 0 for one seed
  /// Mean over the seeds that report it of RunScore::clipped_fraction; nullopt if none does.
  std::optional<double> clipped_fraction;
};

/// Groups scores by (row, column); rows and columns keep the order of first appearance. Throws
/// DataError naming the row, column and seed if one seed appears twice in a cell.
std::vector<Cell> aggregate(const std::vector<RunScore>& scores);

/// Markdown table: header "| <corner> | col1 | col2 ... |", one line per row, cells
/// "mean ± std" with `precision` decimals ("–" where a method has no run for that row).
std::string markdown_table(const std::vector<Cell>& cells, const std::string& corner, int precision);

/// CSV with one line per cell: row,column,seeds,mean,std,values (values ';'-separated).
std::string csv_table(const std::vector<Cell>& cells);

// ---- statistics (docs/reports.md) -----------------------------------------------------------------

double mean(const std::vector<double>& values);            ///< 0 for an empty list
double population_std(const std::vector<double>& values);  ///< ddof = 0; 0 for fewer than 2 values

/// The q-quantile (0 <= q <= 1) with linear interpolation between order statistics (NumPy's default
/// `linear` method: position q·(n−1) of the sorted values). DataError for an empty list.
double percentile(std::vector<double> values, double q);

/// Interquartile mean as rliable defines it (scipy.stats.trim_mean(x, 0.25)): sort, drop
/// floor(0.25·n) values at each end, average the rest. DataError for an empty list.
double iqm(std::vector<double> values);

struct Interval {
  double low = 0, high = 0;
};

/// Deterministic 64-bit generator for the bootstrap (splitmix64): the same seed gives the same
/// intervals on every platform, unlike std::uniform_int_distribution.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  /// Uniform index in [0, n) by rejection (no modulo bias).
  std::size_t below(std::size_t n);

 private:
  std::uint64_t state_;
};

/// Percentile bootstrap interval of the mean over seeds: `resamples` resamples of the values with
/// replacement (same size), the statistic's (1−confidence)/2 and (1+confidence)/2 percentiles.
Interval bootstrap_mean(const std::vector<double>& values, int resamples, std::uint64_t seed,
                        double confidence = 0.95);

/// rliable's stratified bootstrap interval of the IQM over runs × tasks: each resample draws, per task,
/// that task's runs with replacement, and takes the IQM of all drawn values.
Interval bootstrap_iqm(const std::vector<std::vector<double>>& runs_per_task, int resamples,
                       std::uint64_t seed, double confidence = 0.95);

/// The category of a task label that ends in a task number, as OGBench's five tasks per category
/// (the paper's Table 2): "cube-single-play-singletask-task3-v0", "cube-single-play-task3" and
/// "cube-single-play task3" are all "cube-single-play". nullopt for other labels ("walker stand").
std::optional<std::string> category_of(const std::string& task);

// ---- paper-format tables -----------------------------------------------------------------------------

struct TableOptions {
  std::string corner = "task";  ///< top-left header cell ("return", "success")
  int precision = 1;
  int bootstrap = 0;  ///< resamples of the percentile bootstrap (0: no intervals)
  std::uint64_t bootstrap_seed = 0;
  double confidence = 0.95;
  bool categories = true;       ///< add category means after the tasks of a category (category_of)
  bool iqm = false;             ///< add an "IQM" row per column over all runs × tasks
  double clip_threshold = 0.5;  ///< cells whose clipped_fraction is at least this get a marker
};

struct TableCell {
  bool present = false;
  double mean = 0, std = 0;
  std::size_t seeds = 0;
  std::optional<Interval> interval;
  std::optional<double> clipped_fraction;
  bool flagged = false;  ///< clipped_fraction >= TableOptions::clip_threshold
  std::vector<double> values;
};

struct TableRow {
  std::string label;
  enum class Kind { Task, Category, Iqm } kind = Kind::Task;
  std::vector<TableCell> cells;  ///< one per column
};

/// Rows tasks (each category's mean after its last task; an IQM row last), columns methods.
struct PaperTable {
  std::string corner;
  std::vector<std::string> columns;
  std::vector<TableRow> rows;
  std::vector<std::size_t> column_seeds;  ///< the most frequent seed count of each column's task cells
  std::vector<std::string> footnotes;
  int precision = 1;
};

/// Category cells: per seed, the mean over the category's tasks (only seeds that ran every task of
/// the category in that column), then mean ± std over those seeds. IQM cells: iqm() over every run of
/// the column on every task row, with bootstrap_iqm() intervals.
PaperTable build_table(const std::vector<Cell>& cells, const TableOptions& options);

/// Markdown: the header and rule of markdown_table(), cells "mean ± std" (+ " [low, high]" with
/// intervals, " (n=k)" where the seed count differs from the column's, " †" when flagged), a last
/// "seeds" row with each column's seed count, footnotes below.
std::string to_markdown(const PaperTable& table);
/// LaTeX tabular (booktabs rules), the same cells as to_markdown() with $\pm$.
std::string to_latex(const PaperTable& table);
/// One line per cell: row,kind,column,seeds,mean,std,ci_low,ci_high,clipped_fraction,flagged,values.
std::string to_csv(const PaperTable& table);

/// The offline → online table (the paper's Table 3) from two tables built from the same runs (same
/// rows and columns, else DataError): cells "before ± std → after ± std", a "seeds" row.
std::string pair_markdown(const PaperTable& before, const PaperTable& after);
std::string pair_latex(const PaperTable& before, const PaperTable& after);
/// One line per cell: row,kind,column,seeds,offline_mean,offline_std,online_mean,online_std.
std::string pair_csv(const PaperTable& before, const PaperTable& after);

/// A CSV file as header + rows of strings (no quoting: Dipole's CSVs hold numbers and plain labels).
struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  /// Index of `name` in the header, or -1.
  int column(const std::string& name) const;
};
/// DataError naming the file if it cannot be read or a row has another number of cells.
CsvTable read_csv(const std::string& path);

}  // namespace dipole::report
