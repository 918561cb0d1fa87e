//! Saifu's integration tests: one binary, each test against a real server on port 0 and a
//! fresh database (SQLite by default, PostgreSQL when SAIFU_TEST_DATABASE_URL is set).

mod accounts;
mod cards;
mod checkout;
mod cli;
mod demo;
mod helpers;
mod http_basics;
mod passkeys;
mod payments;
mod points;
mod webhooks;
