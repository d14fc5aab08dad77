//! Printing: side-by-side tables, number formats, the machine, the goals.

use std::fmt::Write as _;
use std::time::Duration;

/// A table printed with aligned columns: the first column left-aligned,
/// the others right-aligned, then its notes.
#[derive(Debug)]
pub(crate) struct Table {
    title: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    notes: Vec<String>,
}

impl Table {
    pub(crate) fn new(title: impl Into<String>, header: &[&str]) -> Self {
        Table {
            title: title.into(),
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub(crate) fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    pub(crate) fn print(&self) {
        print!("{}", self.render());
    }

    /// The table through comfy-table (as the CLI's tables): no borders,
    /// two spaces between columns, a dashed line under the header.
    fn render(&self) -> String {
        let mut table = comfy_table::Table::new();
        table
            .load_preset(comfy_table::presets::NOTHING)
            .set_header(&self.header)
            .add_rows(self.rows.iter().cloned());
        for (i, column) in table.column_iter_mut().enumerate() {
            if i == 0 {
                column.set_padding((0, 0));
            } else {
                column
                    .set_padding((2, 0))
                    .set_cell_alignment(comfy_table::CellAlignment::Right);
            }
        }
        let lines: Vec<String> = table.lines().map(|l| l.trim_end().to_owned()).collect();
        let width = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
        let mut out = String::new();
        let _ = writeln!(out, "\n## {}\n", self.title);
        for (n, line) in lines.iter().enumerate() {
            let _ = writeln!(out, "{line}");
            if n == 0 {
                let _ = writeln!(out, "{}", "-".repeat(width));
            }
        }
        for note in &self.notes {
            let _ = writeln!(out, "  {note}");
        }
        out
    }
}

/// `1234567.8` as `1,234,568`.
pub(crate) fn thousands(value: f64) -> String {
    let n = value.round().max(0.0) as u64;
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Items per second.
pub(crate) fn rate(items: u64, took: Duration) -> f64 {
    items as f64 / took.as_secs_f64().max(1e-9)
}

/// A duration in milliseconds, one decimal.
pub(crate) fn ms(took: Duration) -> String {
    format!("{:.1}", took.as_secs_f64() * 1000.0)
}

/// A duration in seconds, two decimals.
pub(crate) fn secs(took: Duration) -> String {
    format!("{:.2}", took.as_secs_f64())
}

/// A ratio as a percentage, no decimals.
pub(crate) fn percent(ratio: f64) -> String {
    format!("{:.0}%", ratio * 100.0)
}

/// KiB as MiB, one decimal.
pub(crate) fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

/// The median of some durations (the upper one of an even count).
pub(crate) fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs.get(runs.len() / 2).copied().unwrap_or_default()
}

/// CPU time of this process's threads so far, by side: the emulators'
/// runtime threads (named `emulator`) and everything else (the client).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Cpu {
    pub(crate) client: Duration,
    pub(crate) emulator: Duration,
}

impl Cpu {
    /// Reads `/proc/self/task/*/stat` (user + system time, in 1/100 s).
    pub(crate) fn now() -> Cpu {
        let mut cpu = Cpu::default();
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return cpu;
        };
        for task in tasks.flatten() {
            let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
                continue;
            };
            let Some((head, tail)) = stat.rsplit_once(')') else {
                continue;
            };
            let fields: Vec<&str> = tail.split_whitespace().collect();
            let ticks = |i: usize| {
                fields
                    .get(i)
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            // utime and stime are fields 14 and 15; `tail` starts at field 3.
            let used = Duration::from_millis((ticks(11) + ticks(12)) * 10);
            if head.ends_with("(emulator") {
                cpu.emulator += used;
            } else {
                cpu.client += used;
            }
        }
        cpu
    }

    /// The CPU used since `earlier`.
    pub(crate) fn since(self, earlier: Cpu) -> Cpu {
        Cpu {
            client: self.client.saturating_sub(earlier.client),
            emulator: self.emulator.saturating_sub(earlier.emulator),
        }
    }
}

/// One goal of the issue and where the run stands against it.
#[derive(Debug)]
pub(crate) struct Goal {
    pub(crate) what: String,
    pub(crate) goal: String,
    pub(crate) figure: String,
    pub(crate) met: Option<bool>,
}

impl Goal {
    pub(crate) fn new(
        what: impl Into<String>,
        goal: impl Into<String>,
        figure: impl Into<String>,
        met: Option<bool>,
    ) -> Self {
        Goal {
            what: what.into(),
            goal: goal.into(),
            figure: figure.into(),
            met,
        }
    }
}

/// The goals, as one table.
pub(crate) fn print_goals(goals: &[Goal]) {
    let mut table = Table::new("Goals", &["measure", "goal", "this run", "met"]);
    for g in goals {
        let met = match g.met {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "-",
        };
        table.row(vec![
            g.what.clone(),
            g.goal.clone(),
            g.figure.clone(),
            met.to_owned(),
        ]);
    }
    table.print();
}

/// The 1-, 5- and 15-minute load averages (other work on the machine).
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The machine, from /proc: CPU model, cores, memory, kernel.
pub(crate) fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{model}, {cores} cores, {:.1} GiB memory, Linux {}",
        mem_kib as f64 / (1024.0 * 1024.0),
        kernel.trim()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1000.0), "1,000");
        assert_eq!(thousands(1_234_567.8), "1,234,568");
        assert_eq!(percent(0.914), "91%");
        assert_eq!(
            median(vec![
                Duration::from_millis(3),
                Duration::from_millis(1),
                Duration::from_millis(2)
            ]),
            Duration::from_millis(2)
        );
    }

    #[test]
    fn tables_align() {
        let mut t = Table::new("t", &["a", "bb"]);
        t.row(vec!["long name".into(), "1".into()]);
        let text = t.render();
        assert!(text.contains("long name   1"), "{text}");
        assert!(text.contains("a          bb"), "{text}");
    }
}
