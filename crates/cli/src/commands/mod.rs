//! One module per subcommand: its clap arguments and its `run`.

pub mod auc;
pub mod calibrate;
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
