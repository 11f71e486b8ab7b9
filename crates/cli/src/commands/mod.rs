//! One module per subcommand: its clap arguments and its `run`.

pub mod auc;
pub mod calibrate;
pub mod calibrate_suite;
pub mod calibration_report;
pub mod coefsets;
pub mod coslow;
pub mod families;
pub mod forecast;
pub mod order;
pub mod score;
pub mod select;

/// Prints a JSON value on stdout.
pub fn print_json(value: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string()));
}

/// Which rows have a label: a non-blank answer, as the page counts a row labeled. None when
/// the table has no answer column.
pub fn labeled(table: &labelcast_core::table::Table) -> Option<Vec<bool>> {
    table.roles.answer?;
    Some((0..table.rows.len()).map(|r| table.answer(r).is_some()).collect())
}

/// "line 4", "lines 3, 5", "lines 1, 2, …, 10 and 7 more" (lines shown by name up to ten).
pub fn line_list(lines: &[usize]) -> String {
    const SHOWN: usize = 10;
    let shown: Vec<String> = lines.iter().take(SHOWN).map(|l| l.to_string()).collect();
    let more = lines.len().saturating_sub(SHOWN);
    let noun = if lines.len() == 1 { "line" } else { "lines" };
    match more {
        0 => format!("{noun} {}", shown.join(", ")),
        _ => format!("{noun} {} and {more} more", shown.join(", ")),
    }
}
