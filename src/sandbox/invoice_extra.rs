//! The invoice routes beyond create / list / get: the update (`PATCH /v2/invoice/{id}`:
//! cancel, or change `amount`, `due`, `expiration` while `created`), the QR code PNG and the
//! PDF of an invoice, the payment of a paid one, and the PDF of an invoice log.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::content;
use super::routes::Ctx;
use super::state::{Bank, Errors, err, invoice_due, invoice_expires};
use super::validate::{MAX_EXPIRATION, json_object, parse_when};
use crate::api::model::Invoice;

/// Amounts from here up are refused (`invalidAmount`), as the real API does.
const MAX_AMOUNT: i64 = 1_000_000_000_000_000;
/// The QR code's pixels per module: default, and the range the API allows.
const QR_SIZE_DEFAULT: usize = 7;
const QR_SIZE_MAX: usize = 50;
/// The invoice log types that record a payment, hence have a receipt.
const RECEIPT_LOGS: &[&str] = &["paid", "credited", "reversed"];

/// What a `PATCH /v2/invoice/{id}` asks for.
#[derive(Debug, Default, PartialEq)]
struct Update {
    cancel: bool,
    amount: Option<i64>,
    due: Option<DateTime<Utc>>,
    expiration: Option<i64>,
}

/// Read a PATCH body: `{"status": "canceled"}` alone, or any of `amount` (cents, 0 to
/// 10^15 - 1), `due` (a datetime, not in the past) and `expiration` (seconds after due,
/// up to ten years). Unknown fields are `invalidJson`.
fn parse_update(body: &[u8], now: DateTime<Utc>) -> Result<Update, Errors> {
    let o: Map<String, Value> = json_object(body)?;
    let mut u = Update::default();
    for (key, v) in &o {
        match key.as_str() {
            "status" => match v.as_str() {
                Some("canceled") => u.cancel = true,
                _ => {
                    return Err(err(
                        "invalidStatus",
                        format!(
                            "`status` {v} cannot be set: the only status update is \"canceled\""
                        ),
                    ));
                }
            },
            "amount" => match v.as_i64() {
                Some(a) if v.is_i64() && (0..MAX_AMOUNT).contains(&a) => u.amount = Some(a),
                _ => {
                    return Err(err(
                        "invalidAmount",
                        format!(
                            "`amount` {v} must be an integer number of cents from 0 to {}",
                            MAX_AMOUNT - 1
                        ),
                    ));
                }
            },
            "due" => match v.as_str().and_then(parse_when) {
                Some(d) if d >= now => u.due = Some(d),
                Some(_) => {
                    return Err(err("invalidDue", format!("`due` {v} is in the past")));
                }
                None => {
                    return Err(err(
                        "invalidDue",
                        format!("`due` {v} must be a datetime like 2026-01-31T12:00:00+00:00"),
                    ));
                }
            },
            "expiration" => match v.as_i64() {
                Some(e) if v.is_i64() && (0..=MAX_EXPIRATION).contains(&e) => {
                    u.expiration = Some(e);
                }
                _ => {
                    return Err(err(
                        "invalidExpiration",
                        format!(
                            "`expiration` {v} must be whole seconds from 0 to {MAX_EXPIRATION}"
                        ),
                    ));
                }
            },
            other => {
                return Err(err(
                    "invalidJson",
                    format!(
                        "Unknown field `{other}`: an invoice update takes status, amount, due or expiration"
                    ),
                ));
            }
        }
    }
    let changes = u.amount.is_some() || u.due.is_some() || u.expiration.is_some();
    if u.cancel && changes {
        return Err(err(
            "invalidJson",
            "Cancel alone: {\"status\": \"canceled\"} takes no other field",
        ));
    }
    if !u.cancel && !changes {
        return Err(err(
            "invalidStatus",
            "Nothing to update: send {\"status\": \"canceled\"} or amount, due or expiration",
        ));
    }
    Ok(u)
}

fn find<'a>(bank: &'a Bank, id: &str) -> Result<&'a Invoice, Errors> {
    bank.invoices
        .get(id)
        .ok_or_else(|| err("invalidInvoice", format!("No invoice with id {id:?}")))
}

/// `PATCH /v2/invoice/{id}`: cancel, or change amount / due / expiration, while `created`.
pub fn patch(bank: &mut Bank, ctx: &Ctx<'_>, id: &str) -> Result<Value, Errors> {
    let status = find(bank, id)?.status.clone();
    let u = parse_update(ctx.body, ctx.now)?;
    if status != "created" {
        return Err(err(
            "invalidInvoiceStatus",
            format!("Invoice {id} is {status}: only a created invoice can be updated"),
        ));
    }
    let inv = if u.cancel {
        bank.cancel_invoice(id, ctx.now)
    } else {
        bank.update_invoice(id, ctx.now, u.amount, u.due, u.expiration)
    };
    Ok(json!({"message": "Invoice successfully updated", "invoice": inv}))
}

/// `GET /v2/invoice/{id}/qrcode?size=`: the brcode as a PNG, `size` (1..=50, default 7)
/// pixels per module.
pub fn qrcode(bank: &Bank, ctx: &Ctx<'_>, id: &str) -> Result<Value, Errors> {
    let inv = find(bank, id)?;
    let size = match ctx.query.get("size").map(|s| s.trim()) {
        None | Some("") => QR_SIZE_DEFAULT,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=QR_SIZE_MAX).contains(&n) => n,
            _ => {
                return Err(err(
                    "invalidSize",
                    format!("size {s:?} must be an integer from 1 to {QR_SIZE_MAX}"),
                ));
            }
        },
    };
    let png = content::qr_png(&inv.brcode, size).ok_or_else(|| {
        err(
            "internalServerError",
            format!("The brcode of invoice {id} does not fit a QR code"),
        )
    })?;
    Ok(content::wrap("image/png", &png))
}

fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    format!("{sign}R$ {},{:02}", c / 100, c % 100)
}

fn invoice_lines(inv: &Invoice) -> Vec<String> {
    let due = invoice_due(inv);
    let mut lines = vec![
        format!("Invoice {}", inv.id),
        format!("Status: {}", inv.status),
        format!("Payer: {} ({})", inv.name, inv.tax_id),
        format!(
            "Amount: {}",
            money(inv.amount.unwrap_or(inv.nominal_amount))
        ),
        format!("Nominal amount: {}", money(inv.nominal_amount)),
        format!("Due: {}", due.format("%Y-%m-%d %H:%M UTC")),
    ];
    if let Some(e) = invoice_expires(inv) {
        lines.push(format!("Expires: {}", e.format("%Y-%m-%d %H:%M UTC")));
    }
    lines.push(format!(
        "Created: {}",
        inv.created.0.format("%Y-%m-%d %H:%M UTC")
    ));
    lines.push("Issued by the stark sandbox (an emulator): not a real document.".into());
    lines
}

/// `GET /v2/invoice/{id}/pdf`: a one-page PDF of the invoice.
pub fn pdf(bank: &Bank, id: &str) -> Result<Value, Errors> {
    let inv = find(bank, id)?;
    let bytes = content::pdf("Invoice", &invoice_lines(inv));
    Ok(content::wrap("application/pdf", &bytes))
}

/// `GET /v2/invoice/{id}/payment`: who paid a paid invoice, and how (`invalidInvoiceStatus`
/// for one that was not paid).
pub fn payment(bank: &Bank, id: &str) -> Result<Value, Errors> {
    let inv = find(bank, id)?;
    if inv.status != "paid" {
        return Err(err(
            "invalidInvoiceStatus",
            format!(
                "Invoice {id} is {}: only a paid invoice has a payment",
                inv.status
            ),
        ));
    }
    let paid_at = bank
        .invoice_logs
        .iter()
        .find(|l| l.item.subject.id == id && l.item.kind == "paid")
        .map(|l| l.item.created.0)
        .unwrap_or(inv.created.0);
    // The payer is the invoice's own payer, paying by Pix from a Stark Bank account.
    let padded = format!("{:0>11}", inv.id);
    let tail = padded.get(padded.len() - 11..).unwrap_or("00000000000");
    Ok(json!({"payment": {
        "amount": inv.amount.unwrap_or(inv.nominal_amount),
        "name": inv.name,
        "taxId": inv.tax_id,
        "bankCode": "20018183",
        "branchCode": "0001",
        "accountNumber": format!("{:0>10}", &tail[..10]),
        "accountType": "checking",
        "endToEndId": format!("E20018183{}{tail}", paid_at.format("%Y%m%d%H%M")),
        "method": "pix",
    }}))
}

/// `GET /v2/invoice/log/{id}/pdf`: the receipt of a payment log (`paid`, `credited`,
/// `reversed`); `invalidInvoiceLog` for other logs.
pub fn log_pdf(bank: &Bank, id: &str) -> Result<Value, Errors> {
    let log = bank
        .invoice_logs
        .get(id)
        .ok_or_else(|| err("invalidInvoiceLog", format!("No log with id {id:?}")))?;
    if !RECEIPT_LOGS.contains(&log.kind.as_str()) {
        return Err(err(
            "invalidInvoiceLog",
            format!(
                "Log {id} is a {} log: only a payment log ({}) has a receipt",
                log.kind,
                RECEIPT_LOGS.join(", ")
            ),
        ));
    }
    let mut lines = vec![
        format!("Log {} ({})", log.id, log.kind),
        format!("Logged: {}", log.created.0.format("%Y-%m-%d %H:%M UTC")),
    ];
    lines.extend(invoice_lines(&log.subject));
    let bytes = content::pdf("Invoice receipt", &lines);
    Ok(content::wrap("application/pdf", &bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::routes::{Route, resolve};
    use axum::http::Method;

    #[test]
    fn the_new_routes_resolve_and_have_fault_names() {
        for (method, path, route) in [
            (
                Method::GET,
                "invoice/7/qrcode",
                Route::InvoiceQrcode("7".into()),
            ),
            (Method::GET, "invoice/7/pdf", Route::InvoicePdf("7".into())),
            (
                Method::GET,
                "invoice/7/payment",
                Route::InvoicePayment("7".into()),
            ),
            (
                Method::GET,
                "invoice/log/9/pdf",
                Route::InvoiceLogPdf("9".into()),
            ),
            (
                Method::DELETE,
                "transfer/5",
                Route::TransferDelete("5".into()),
            ),
            (
                Method::GET,
                "transfer/5/pdf",
                Route::TransferPdf("5".into()),
            ),
            (
                Method::GET,
                "invoice/log/9",
                Route::InvoiceLogGet("9".into()),
            ),
        ] {
            let got = resolve(&method, path).unwrap();
            assert_eq!(got, route, "{method} {path}");
            assert!(
                crate::sandbox::faults::ROUTES.contains(&got.name()),
                "{got:?}"
            );
        }
        assert!(Route::TransferDelete("5".into()).is_write());
        assert!(!Route::InvoiceQrcode("7".into()).is_write());
    }

    fn now() -> DateTime<Utc> {
        "2026-03-02T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn updates_are_read_strictly() {
        let ok = |b: &str| parse_update(b.as_bytes(), now());
        let code = |b: &str| ok(b).unwrap_err()[0].code.clone();
        assert!(ok(r#"{"status":"canceled"}"#).unwrap().cancel);
        let u =
            ok(r#"{"amount":500,"due":"2026-03-10T12:00:00+00:00","expiration":3600}"#).unwrap();
        assert_eq!(
            (u.amount, u.due, u.expiration),
            (
                Some(500),
                Some("2026-03-10T12:00:00Z".parse().unwrap()),
                Some(3600)
            )
        );
        assert_eq!(code(r#"{"status":"paid"}"#), "invalidStatus");
        assert_eq!(code(r#"{"amount":-1}"#), "invalidAmount");
        assert_eq!(code(r#"{"amount":1000000000000000}"#), "invalidAmount");
        assert_eq!(code(r#"{"amount":"5"}"#), "invalidAmount");
        assert_eq!(code(r#"{"due":"2026-03-01T00:00:00+00:00"}"#), "invalidDue");
        assert_eq!(code(r#"{"due":"soon"}"#), "invalidDue");
        assert_eq!(code(r#"{"expiration":-5}"#), "invalidExpiration");
        assert_eq!(code(r#"{"fine":2}"#), "invalidJson");
        assert_eq!(code(r#"{}"#), "invalidStatus");
        assert_eq!(code(r#"{"status":"canceled","amount":5}"#), "invalidJson");
    }
}
