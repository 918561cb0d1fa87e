//! Points rules, free of HTTP and SQL (the rest of the former domain folder now lives in
//! rooms of its own: `accounts`, `money`, `secrets`, `clock`).

pub mod points;
