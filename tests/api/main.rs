//! Saifu's integration tests: one binary, each test against a real server on port 0 and a
//! fresh database (SQLite by default, PostgreSQL when SAIFU_TEST_DATABASE_URL is set).
//! `helpers/` holds the test support every module shares (the app, the browser, the soft
//! passkey, the shopper and merchant fixtures); `checkout/` follows the checkout's steps; the
//! other modules follow the wallet's areas; `migrations` checks the two schema folders,
//! `files` the modes of the files the wallet writes, and `architecture` the layout's rules (no
//! import cycle, the directions between rooms, file sizes).

mod account_recovery;
mod accounts;
mod addresses;
mod admin_identity;
mod admin_roles;
mod architecture;
mod audit;
mod cards;
mod checkout;
mod cli;
mod connected_shops;
mod connections;
mod console_merchants;
mod console_points;
mod console_shoppers;
mod crash;
mod demo;
mod dispute_pages;
mod disputes;
mod files;
mod forged_grants;
mod freeze;
mod group_commit;
mod helpers;
mod http_basics;
mod language;
mod migrations;
mod nodes;
mod openapi;
mod passkeys;
mod payments;
mod points;
mod points_capture;
mod points_lots;
mod receipts;
mod recovery;
mod registration;
mod risk;
mod sdk_wallets;
mod session_user;
mod signin;
mod statements;
mod wallet_pages;
mod webhooks;
