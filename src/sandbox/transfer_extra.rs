//! The transfer routes beyond create / list / get: `DELETE /v2/transfer/{id}` (cancels a
//! transfer still waiting for its `scheduled` time), `GET /v2/transfer/{id}/pdf` (the receipt
//! of a transfer `processing` or `success`), and the `rules` a transfer is created with.

use serde_json::{Map, Value, json};

use super::content;
use super::routes::Ctx;
use super::state::{Bank, Errors, err};
use crate::api::model::{Transfer, TransferRule};

/// The rule keys a transfer accepts.
pub const RULE_KEYS: &[&str] = &["resendingLimit"];
/// The statuses whose transfer has a receipt, as the SDK documents.
const RECEIPT_STATUSES: &[&str] = &["processing", "success"];

/// The `rules` of a transfer element: a list of `{"key": "resendingLimit", "value": n}`
/// (a whole number from 0), each key once. Absent or `null`: none.
pub fn rules(o: &Map<String, Value>) -> Result<Vec<TransferRule>, (&'static str, String)> {
    let bad = |msg: String| ("invalidRule", msg);
    let list = match o.get("rules") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(v) => {
            return Err(bad(format!(
                "`rules` must be a list of {{\"key\", \"value\"}} objects, not {v}"
            )));
        }
    };
    let mut out: Vec<TransferRule> = Vec::new();
    for r in list {
        let Some(r) = r.as_object() else {
            return Err(bad(format!("a rule must be an object, not {r}")));
        };
        if let Some(k) = r.keys().find(|k| !matches!(k.as_str(), "key" | "value")) {
            return Err(bad(format!(
                "Unknown field `{k}` in a rule: send key and value"
            )));
        }
        let key = match r.get("key").and_then(Value::as_str) {
            Some(k) if RULE_KEYS.contains(&k) => k,
            _ => {
                return Err(bad(format!(
                    "rule key {} is unknown; known: {}",
                    r.get("key").unwrap_or(&Value::Null),
                    RULE_KEYS.join(", ")
                )));
            }
        };
        let value = match r.get("value") {
            Some(v) if v.is_i64() && v.as_i64().is_some_and(|n| n >= 0) => v.as_i64().unwrap_or(0),
            v => {
                return Err(bad(format!(
                    "rule {key} needs a whole number from 0 as value, not {}",
                    v.unwrap_or(&Value::Null)
                )));
            }
        };
        if out.iter().any(|x| x.key == key) {
            return Err(bad(format!("rule {key} is given twice")));
        }
        out.push(TransferRule {
            key: key.to_string(),
            value,
        });
    }
    Ok(out)
}

fn find<'a>(bank: &'a Bank, id: &str) -> Result<&'a Transfer, Errors> {
    bank.transfers
        .get(id)
        .ok_or_else(|| err("invalidTransfer", format!("No transfer with id {id:?}")))
}

/// `DELETE /v2/transfer/{id}`: cancel a transfer that is still `created` (waiting for its
/// `scheduled` time): `{"transfer": {... "status": "canceled"}}`. One that already started
/// (`processing`) or ended: `invalidTransferStatus`, and nothing is done.
pub fn delete(bank: &mut Bank, ctx: &Ctx<'_>, id: &str) -> Result<Value, Errors> {
    let status = find(bank, id)?.status.clone();
    match bank.cancel_transfer(id, ctx.now) {
        Some(t) => Ok(json!({"message": "Transfer successfully canceled", "transfer": t})),
        None => Err(err(
            "invalidTransferStatus",
            format!(
                "Transfer {id} is {status}: only a scheduled transfer that has not started can be canceled"
            ),
        )),
    }
}

/// `GET /v2/transfer/{id}/pdf`: a one-page receipt of a transfer `processing` or `success`;
/// `invalidTransferStatus` otherwise.
pub fn pdf(bank: &Bank, id: &str) -> Result<Value, Errors> {
    let t = find(bank, id)?;
    if !RECEIPT_STATUSES.contains(&t.status.as_str()) {
        return Err(err(
            "invalidTransferStatus",
            format!(
                "Transfer {id} is {}: only a transfer processing or success has a receipt",
                t.status
            ),
        ));
    }
    let c = t.amount.unsigned_abs();
    let mut lines = vec![
        format!("Transfer {}", t.id),
        format!("Status: {}", t.status),
        format!("Amount: R$ {},{:02}", c / 100, c % 100),
        format!("Receiver: {} ({})", t.name, t.tax_id),
        format!(
            "Bank {} branch {} account {} ({})",
            t.bank_code, t.branch_code, t.account_number, t.account_type
        ),
        format!("External id: {}", t.external_id),
        format!("Created: {}", t.created.0.format("%Y-%m-%d %H:%M UTC")),
    ];
    if let Some(tx) = t.transaction_ids.first() {
        lines.push(format!("Transaction: {tx}"));
    }
    lines.push("Issued by the stark sandbox (an emulator): not a real document.".into());
    let bytes = content::pdf("Transfer receipt", &lines);
    Ok(content::wrap("application/pdf", &bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value) -> Result<Vec<TransferRule>, (&'static str, String)> {
        rules(v.as_object().unwrap())
    }

    #[test]
    fn rules_are_read_strictly() {
        assert_eq!(parse(json!({})).unwrap(), vec![]);
        assert_eq!(
            parse(json!({"rules": [{"key": "resendingLimit", "value": 5}]})).unwrap(),
            vec![TransferRule {
                key: "resendingLimit".into(),
                value: 5
            }]
        );
        for bad in [
            json!({"rules": {"key": "resendingLimit"}}),
            json!({"rules": [{"key": "nope", "value": 1}]}),
            json!({"rules": [{"key": "resendingLimit", "value": -1}]}),
            json!({"rules": [{"key": "resendingLimit", "value": "5"}]}),
            json!({"rules": [{"key": "resendingLimit", "value": 1, "x": 1}]}),
            json!({"rules": [{"key": "resendingLimit", "value": 1}, {"key": "resendingLimit", "value": 2}]}),
        ] {
            assert_eq!(parse(bad.clone()).unwrap_err().0, "invalidRule", "{bad}");
        }
    }
}
