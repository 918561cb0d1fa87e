//! The console's points statements: for a month (the current one unless another is chosen),
//! every merchant with activity, per currency, with the totals, and the same lines as a CSV
//! download. Every role reads them (`ReadConsole`).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use crate::admin::Permission;
use crate::clock::unix_now;
use crate::error::Result;
use crate::http::admin::console::{AdminLayout, Console};
use crate::http::pages::render;
use crate::points::statement::totals;
use crate::points::{Statement, StatementLine, StatementMonth, Statements};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/points/statements", get(page))
        .route("/admin/points/statements.csv", get(csv))
}

#[derive(Deserialize)]
struct MonthQuery {
    #[serde(default)]
    month: String,
}

/// The month asked for; the current one when none is.
fn month_of(raw: &str, now: i64) -> Result<StatementMonth> {
    match raw.trim() {
        "" => StatementMonth::containing(now),
        raw => StatementMonth::parse(raw, now),
    }
}

/// One line of the page's table: a merchant's currency.
struct LineRow {
    merchant: String,
    client_id: String,
    amounts: Amounts,
}

/// A line's figures as the page shows them.
struct Amounts {
    currency: &'static str,
    points_issued: i64,
    points_redeemed: i64,
    issued: String,
    redeemed: String,
    net: String,
}

impl Amounts {
    fn of(line: &StatementLine) -> Self {
        Self {
            currency: line.currency.code(),
            points_issued: line.points_issued,
            points_redeemed: line.points_redeemed,
            issued: line.issued.format_display(),
            redeemed: line.redeemed.format_display(),
            net: line.net.format_display(),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/points_statements.html")]
struct StatementsPage {
    layout: AdminLayout,
    /// The month shown (`YYYY-MM`), or as typed when it was refused.
    month: String,
    /// "November 2026"; empty when the month was refused.
    month_name: String,
    /// The picker's bounds.
    min: &'static str,
    max: String,
    /// Why the month typed can't be shown.
    month_error: Option<String>,
    lines: Vec<LineRow>,
    totals: Vec<Amounts>,
}

async fn page(
    State(statements): State<Statements>,
    console: Console,
    Query(q): Query<MonthQuery>,
) -> Result<Response> {
    console.require(Permission::ReadConsole)?;
    let now = unix_now();
    let max = StatementMonth::containing(now)?.next()?.to_string();
    let mut page = StatementsPage {
        layout: console.layout("Points statements"),
        month: q.month.trim().to_string(),
        month_name: String::new(),
        min: "2000-01",
        max,
        month_error: None,
        lines: Vec::new(),
        totals: Vec::new(),
    };
    let month = match month_of(&q.month, now) {
        Ok(month) => month,
        Err(err) => {
            page.month_error = Some(err.public_message().into_owned());
            return Ok((StatusCode::BAD_REQUEST, render(&page)?).into_response());
        }
    };
    let all = statements.of_month(month).await?;
    page.month = month.to_string();
    page.month_name = month.name();
    page.totals = totals(&all)?.iter().map(Amounts::of).collect();
    page.lines = all
        .iter()
        .flat_map(|s| {
            s.lines.iter().map(|line| LineRow {
                merchant: s.merchant_name.clone(),
                client_id: s.client_id.clone(),
                amounts: Amounts::of(line),
            })
        })
        .collect();
    render(&page)
}

async fn csv(
    State(statements): State<Statements>,
    console: Console,
    Query(q): Query<MonthQuery>,
) -> Result<Response> {
    console.require(Permission::ReadConsole)?;
    let month = month_of(&q.month, unix_now())?;
    let all = statements.of_month(month).await?;
    let disposition = format!("attachment; filename=\"saifu-points-statements-{month}.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        statements_csv(&all),
    )
        .into_response())
}

const CSV_HEADER: &str = "month,client_id,merchant,currency,points_issued,points_redeemed,issued_amount,redeemed_amount,net_amount";

/// The statements as CSV (RFC 4180: CRLF line ends, fields quoted when they hold a comma, a
/// quote or a line break, quotes doubled). Amounts are the API's decimal strings.
fn statements_csv(statements: &[Statement]) -> String {
    let mut out = format!("{CSV_HEADER}\r\n");
    for s in statements {
        for line in &s.lines {
            let fields = [
                field(&s.month.to_string()),
                text_field(&s.client_id),
                text_field(&s.merchant_name),
                field(line.currency.code()),
                field(&line.points_issued.to_string()),
                field(&line.points_redeemed.to_string()),
                field(&line.issued.to_major_string()),
                field(&line.redeemed.to_major_string()),
                field(&line.net.to_major_string()),
            ];
            out.push_str(&fields.join(","));
            out.push_str("\r\n");
        }
    }
    out
}

/// One field, quoted when RFC 4180 needs it.
fn field(value: &str) -> String {
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// A field of text that people typed (a merchant's name): a value a spreadsheet would read as
/// a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`,
/// so it stays text.
fn text_field(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        field(&format!("'{value}"))
    } else {
        field(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{Currency, Money};

    #[test]
    fn fields_are_quoted_per_rfc_4180_and_formulas_stay_text() {
        assert_eq!(field("Frame Shop"), "Frame Shop");
        assert_eq!(field("Frames, Inc."), "\"Frames, Inc.\"");
        assert_eq!(field("The \"Best\" Shop"), "\"The \"\"Best\"\" Shop\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field("-128"), "-128", "numbers are left as they are");
        assert_eq!(
            text_field("=HYPERLINK(\"x\")"),
            "\"'=HYPERLINK(\"\"x\"\")\""
        );
        for formula in ["+1", "-1", "@SUM(A1)", "\tx", "=1+1"] {
            assert!(
                text_field(formula)
                    .trim_start_matches('"')
                    .starts_with('\''),
                "{formula:?}"
            );
        }
        assert_eq!(text_field("Shop = good"), "Shop = good");
    }

    #[test]
    fn the_csv_has_the_header_and_one_crlf_line_per_merchant_and_currency() {
        let now = 1_794_744_000; // 2026-11-15
        let month = StatementMonth::parse("2026-11", now).unwrap();
        let yen = |minor| Money::new(Currency::Jpy, minor);
        let line = StatementLine {
            currency: Currency::Jpy,
            points_issued: 192,
            points_redeemed: 64,
            issued: yen(192),
            redeemed: yen(64),
            net: yen(-128),
        };
        let text = statements_csv(&[Statement {
            client_id: "c1".into(),
            merchant_name: "-Frames, Inc.".into(),
            month,
            lines: vec![line],
        }]);
        assert_eq!(
            text,
            format!("{CSV_HEADER}\r\n2026-11,c1,\"'-Frames, Inc.\",JPY,192,64,192,64,-128\r\n")
        );
        assert_eq!(statements_csv(&[]), format!("{CSV_HEADER}\r\n"));
        assert_eq!(month_of(" ", now).unwrap(), month, "no month: this one");
        assert_eq!(month_of("2026-10", now).unwrap().to_string(), "2026-10");
        assert!(month_of("2026-1", now).is_err());
    }
}
